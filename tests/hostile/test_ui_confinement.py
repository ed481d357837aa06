"""Hostile requests to the console at /ui/: no path, method or header reaches a file outside
kazoo_crossbar/ui/, a 500, or a plain-text answer; every answer is a console file or a Kazoo
envelope, with the console's security headers on the files."""

from __future__ import annotations

import asyncio
import json

import pytest

from kazoo_crossbar.console import UI_DIR

from .wire import strict_json

SHIPPED = {path.read_bytes() for path in UI_DIR.iterdir() if path.is_file()}


async def raw(client, target: bytes, method: bytes = b"GET", headers: bytes = b"") -> tuple[int, bytes, bytes]:
    """(status, head, payload) of one request sent byte for byte (no client-side normalisation)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(method + b" " + target + b" HTTP/1.1\r\nHost: t\r\n" + headers + b"Connection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head, payload


BANNER = b"kazoo_crossbar: a Kazoo Crossbar compatible API. Requests go to /v2/...\n"


def assert_file_or_envelope(status: int, payload: bytes, target: bytes = b"/ui/") -> None:
    assert status < 500, payload[:300]
    if not target.startswith(b"/ui") and payload == BANNER:
        return  # not a console path (`//ui/…`, `/UI/`): the API root's text, no file
    if status == 200:
        assert payload in SHIPPED, payload[:300]
        return
    if status in (301, 308):
        return
    body = strict_json(payload.decode())
    assert body["status"] == "error" and body["error"] == str(status), body
    assert b"[metadata]" not in payload and b"import " not in payload


TRAVERSALS = [
    b"/ui/../setup.cfg",
    b"/ui/%2e%2e/setup.cfg",
    b"/ui/%2E%2E/%2E%2E/setup.cfg",
    b"/ui/..%2fsetup.cfg",
    b"/ui/..%2f..%2fsetup.cfg",
    b"/ui/..%2Fconsole.py",
    b"/ui/%2e%2e%2fconsole.py",
    b"/ui/%252e%252e%252fconsole.py",
    b"/ui/..%5cconsole.py",
    b"/ui/..\\console.py",
    b"/ui/%5c..%5c..%5csetup.cfg",
    b"/ui/....//console.py",
    b"/ui/main.js%00",
    b"/ui/main.js%00.py",
    b"/ui/%00",
    b"/ui/main.js%2500",
    b"/ui/.",
    b"/ui/..",
    b"/ui/%2e",
    b"/ui//etc/passwd",
    b"/ui//",
    b"/ui/./main.js",
    b"/ui/main.js/",
    b"/ui/main.js/.",
    b"/ui/main.js/..",
    b"/ui/main.js;.py",
    b"/ui/main.js?x=../../setup.cfg",
    b"/ui/%ff",
    b"/ui/%ed%a0%80",
    b"/ui/%c0%ae%c0%ae/setup.cfg",
    b"/ui/__pycache__",
    b"/ui/ui",
    b"/ui/MAIN.JS",
    b"/UI/",
    b"/ui/index.html/",
    b"/ui/%2fetc%2fpasswd",
    b"/ui/" + b"a" * 4000,
    b"/ui/" + b"../" * 1000 + b"setup.cfg",
    b"/ui/?" + b"q=" + b"x" * 4000,
    b"/ui/main.js#frag",
    b"/ui/main.js%23.py",
    b"//ui/main.js",
    b"/ui/%e2%80%ae",
    b"/ui/main.js\x00",
    b"/ui/con",
    b"/ui/aux.js",
]


@pytest.mark.parametrize("target", TRAVERSALS)
async def test_no_path_reaches_outside_the_ui_folder(client, target):
    status, _head, payload = await raw(client, target)
    assert_file_or_envelope(status, payload, target)


async def test_very_long_path_is_an_envelope(client):
    status, _head, payload = await raw(client, b"/ui/" + b"a" * 20_000)
    assert_file_or_envelope(status, payload, b"/ui/")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "CONNECT"])
@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/main.js", "/ui/nope.js"])
async def test_methods_other_than_get_and_head_are_envelopes(client, method, path):
    status, _head, payload = await raw(client, path.encode(), method.encode(), b"Content-Length: 0\r\n")
    assert status in (404, 405, 501), payload[:300]
    body = strict_json(payload.decode())
    assert body["status"] == "error" and body["error"] == str(status)


@pytest.mark.parametrize("path", ["/ui/", "/ui/main.js"])
async def test_head_answers_the_headers_without_a_body(client, path):
    resp = await client.head(path)
    assert resp.status == 200 and resp.headers["Content-Security-Policy"]
    assert await resp.read() == b""


@pytest.mark.parametrize(
    "value",
    [
        "bytes=0-10",
        "bytes=-5",
        "bytes=99999999-",
        "bytes=5-1",
        "bytes=0-0,1-1,2-2",
        "junk",
        "bytes=" + ",".join(["0-1"] * 2000),
    ],
)
async def test_range_headers_get_the_whole_file_or_an_envelope(client, value):
    resp = await client.get("/ui/main.js", headers={"Range": value})
    payload = await resp.read()
    assert resp.status == 200 and payload == (UI_DIR / "main.js").read_bytes()


async def test_huge_headers_are_refused_with_an_envelope(client):
    status, _head, payload = await raw(client, b"/ui/", headers=b"X-Big: " + b"x" * 20_000 + b"\r\n")
    assert status in (400, 431), payload[:300]
    body = strict_json(payload.decode())
    assert body["status"] == "error" and body["error"] == str(status)


async def test_many_headers_are_refused_with_an_envelope(client):
    status, _head, payload = await raw(client, b"/ui/", headers=b"".join(b"X-H%d: v\r\n" % i for i in range(200)))
    assert status in (200, 400, 431), payload[:300]
    if status != 200:
        body = strict_json(payload.decode())
        assert body["status"] == "error"


@pytest.mark.parametrize(
    "query", ["?a=1", "?path=../setup.cfg", "?" + "&".join(f"k{i}=v" for i in range(500)), "?%ff=%fe", "?x=%ed%a0%80"]
)
async def test_query_strings_do_not_change_the_answer(client, query):
    resp = await client.get("/ui/main.js" + query)
    assert resp.status == 200 and await resp.read() == (UI_DIR / "main.js").read_bytes()


@pytest.mark.parametrize("path", ["/ui/", "/ui/index.html", "/ui/main.js", "/ui/console.css"])
async def test_security_headers_on_every_file(client, path):
    resp = await client.get(path)
    h = resp.headers
    assert resp.status == 200
    assert (
        "frame-ancestors 'none'" in h["Content-Security-Policy"] and "object-src 'none'" in h["Content-Security-Policy"]
    )
    assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["Cache-Control"] == "no-cache"  # always revalidated: a new release is never served stale


async def test_redirect_target_is_fixed(client):
    """The redirect never reflects the request (no open redirect through `//host` or a query)."""
    for target in (b"/ui", b"/ui?next=//evil.example", b"//ui"):
        status, head, payload = await raw(client, target)
        if status == 301:
            assert b"\r\nLocation: /ui/\r\n" in head, head
        else:
            assert_file_or_envelope(status, payload, target)


async def test_errors_under_ui_do_not_echo_the_path(client):
    status, _head, payload = await raw(client, b"/ui/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert status == 404 and b"<script" not in payload and json.loads(payload)["status"] == "error"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /ui/ HTTP/1.1\r\nHost: t\r\nX-<script>: 1\r\n",
        b"GET /ui/ HTTP/1.1\r\nHost: t\r\nX-A: \x01<script>alert(1)</script>\r\n",
        b"<script> /ui/ HTTP/1.1\r\nHost: t\r\n",
        b"GET /v2/<script>" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n",
        b"GET /v2/resources\x00<script> HTTP/1.1\r\nHost: t\r\n",
    ],
)
async def test_malformed_http_is_an_envelope_that_quotes_nothing(client, request_bytes):
    """aiohttp's parser answers these before any route; its text quoted the line back."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(request_bytes + b"Connection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400" and b"nosniff" in head
    body = strict_json(payload.decode())
    assert body["status"] == "error" and body["error"] == "400" and body["message"] == "bad_request"
    assert b"script" not in payload and b"aaaa" not in payload


@pytest.mark.parametrize("target", [b"*", b"t:80", b"http://t/ui/main.js", b"http://t/v2/../setup.cfg"])
async def test_request_targets_that_are_not_paths(client, target):
    status, _head, payload = await raw(client, target, b"OPTIONS" if target == b"*" else b"GET")
    assert status < 500, payload[:300]
    assert payload in SHIPPED or payload == BANNER or strict_json(payload.decode())["status"] == "error"


@pytest.mark.parametrize("path", ["/health", "/metrics", "/openapi.json"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"])
async def test_operator_routes_answer_other_methods_with_an_envelope(client, path, method):
    resp = await client.request(method, path)
    assert resp.status == (501 if method == "TRACE" else 405), (method, path)
    assert resp.headers["Content-Type"].startswith("application/json")
    if method != "HEAD":
        body = await resp.json()
        assert body["status"] == "error" and body["request_id"] == resp.headers["X-Request-ID"]
    assert (await client.get(path)).status in (200, 503)
