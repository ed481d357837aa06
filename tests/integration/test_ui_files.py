"""/ui/: the console's files from the package, with a strict Content-Security-Policy; everything
else under /ui/ is a Kazoo envelope 404. The page's code never writes HTML from strings."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from kazoo_crossbar.console import UI_DIR, Console, content_type, shipped_files


async def test_index_is_served_with_a_strict_csp(client):
    resp = await client.get("/ui/")
    text = await resp.text()
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.headers["X-Request-ID"]
    assert '<script type="module" src="main.js"></script>' in text


async def test_ui_without_slash_redirects(client):
    resp = await client.get("/ui", allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"] == "/ui/"


@pytest.mark.parametrize(
    "name,ctype", [("main.js", "text/javascript"), ("console.css", "text/css"), ("index.html", "text/html")]
)
async def test_files_have_their_content_types(client, name, ctype):
    resp = await client.get(f"/ui/{name}")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith(ctype)
    assert resp.headers["Content-Security-Policy"]
    assert await resp.read() == (UI_DIR / name).read_bytes()


@pytest.mark.parametrize(
    "path", ["/ui/nope.js", "/ui/..%2Fconsole.py", "/ui/%2E%2E%2F%2E%2E%2Fsetup.cfg", "/ui/.hidden", "/ui/console.py"]
)
async def test_anything_else_is_an_envelope_404(client, path):
    resp = await client.get(path)
    body = await resp.json()
    assert resp.status == 404 and body["status"] == "error" and body["error"] == "404" and body["request_id"]


async def test_console_requests_are_counted(client):
    await client.get("/ui/main.js")
    text = await (await client.get("/metrics")).text()
    # one label per route, never one per file
    assert 'crossbar_requests_total{endpoint="ui/{path}",method="GET",status="200"}' in text
    assert 'endpoint="ui/main.js"' not in text


async def test_openapi_lists_the_console_routes(client):
    paths = (await (await client.get("/openapi.json")).json())["paths"]
    assert set(paths["/ui/"]) == set(paths["/ui/{path}"]) == set(paths["/ui"]) == {"get"}


def test_shipped_files_are_a_fixed_table(tmp_path):
    (tmp_path / "a.js").write_text("x")
    (tmp_path / "notes.txt").write_text("x")  # not a console type: not served
    assert list(shipped_files(tmp_path)) == ["a.js"]
    assert shipped_files(tmp_path / "missing") == {}
    assert Console(tmp_path).files == {"a.js": tmp_path / "a.js"}
    assert content_type("x.unknown") == "application/octet-stream"


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inline, self.handlers, self.styles = [], [], []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [k for k in attrs if k.startswith("on")]
        self.styles += ["style"] if "style" in attrs or tag == "style" else []
        self._in_script = tag == "script" and "src" not in attrs

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(data)


def test_no_inline_code_and_no_html_from_strings():
    parser = _Scripts()
    parser.feed((UI_DIR / "index.html").read_text())
    assert parser.inline == [] and parser.handlers == [] and parser.styles == []
    for js in UI_DIR.glob("*.js"):
        code = js.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in code, f"{js.name} uses {sink}"
