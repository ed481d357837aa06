"""The CouchDB client's behaviour, run over both transports (storage/transport.py): encoded paths,
auth, keep-alive reuse and its limit, HEAD, timeouts, a stale keep-alive connection sent again,
a cut answer, cancellation, and CouchDB's answers mapped to the client's errors.

Faults come from a loopback proxy in front of the real CouchDB (the session's server)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable

import pytest
from yarl import URL

from kazoo_crossbar.http import errors
from kazoo_crossbar.storage import lane, names
from kazoo_crossbar.storage.couch import TRANSPORTS, Conflict, CouchClient, CouchError, NotFound, Unreachable

from ..conftest import free_port


class FaultProxy:
    """Forwards loopback TCP to CouchDB, counting connections and requests and keeping what the
    client sent. Faults: `hold` (forward nothing, answer nothing), `drop_from` (close a connection
    instead of forwarding its n-th or a later request, as a server closing an idle keep-alive
    connection does), `cut_after` (forward only the first bytes of an answer, then close)."""

    def __init__(self, url: str):
        target = URL(url)
        self.target = (target.host or "127.0.0.1", target.port or 5984)
        self.port = free_port()
        self.connections = 0
        self.requests = 0
        self.sent = bytearray()
        self.hold = False
        self.drop_from: int | None = None
        self.cut_after: int | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: list[asyncio.StreamWriter] = []

    def url(self, credentials: str = "") -> str:
        return f"http://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}"

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        nth = 0

        async def upstream() -> None:
            nonlocal nth
            while data := await reader.read(65536):
                self.sent += data
                nth += 1
                self.requests += 1
                if self.hold:
                    continue
                if self.drop_from is not None and nth >= self.drop_from:
                    writer.close()
                    up_writer.close()
                    return
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            budget = self.cut_after
            while data := await up_reader.read(65536):
                if budget is not None:
                    writer.write(data[:budget])
                    await writer.drain()
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()
            writer.close()

        for coro in (upstream(), downstream()):
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        if self._server:
            self._server.close()
        for w in self._writers:
            w.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@pytest.fixture(params=TRANSPORTS)
async def make_client(request, couchdb_url: str) -> AsyncIterator[Callable[..., CouchClient]]:
    made: list[CouchClient] = []

    def make(url: str = couchdb_url, **options) -> CouchClient:
        made.append(CouchClient(url, transport=request.param, **options))
        return made[-1]

    yield make
    for c in made:
        await c.close()


@pytest.fixture
async def proxy(couchdb_url: str) -> AsyncIterator[FaultProxy]:
    p = await FaultProxy(couchdb_url).start()
    yield p
    await p.stop()


def credentials(couchdb_url: str) -> str:
    u = URL(couchdb_url)
    return f"{u.user}:{u.password}" if u.user else ""


async def fresh_db(couch: CouchClient, prefix: str = "client_") -> str:
    db = prefix + secrets.token_hex(4)
    assert await couch.create_db(db)
    return db


async def test_paths_queries_and_slashed_database_names_round_trip(make_client):
    couch = make_client()
    db = f"numbers/+1{secrets.randbelow(900) + 100}{secrets.token_hex(2)}"
    assert await couch.create_db(db)
    assert not await couch.create_db(db)  # 412 file_exists: already there
    ids = ["a b+c", "x/y?z#w", "é☃%41", "q&r=s;t", "+19995550100", "sp ace é"]
    for i in ids:
        await couch.save_doc(db, {"_id": i, "v": i})
    for i in ids:
        assert (await couch.get_doc(db, i))["v"] == i
    rows = await couch.all_docs(db, keys=ids + ["nope"], include_docs=True)
    assert [r["doc"]["v"] for r in rows[:-1]] == ids and rows[-1]["error"] == "not_found"
    rows = await couch.all_docs(db, startkey="x/y?z#w", endkey="x/y?z#w\ufff0")
    assert [r["id"] for r in rows] == ["x/y?z#w"]
    # a path that is not percent-encoded is quoted by the client
    res = await couch.request("GET", f"/{names.url_path(db)}/sp ace é")
    assert res["v"] == "sp ace é"
    assert db in await couch.all_dbs()


async def test_a_database_name_with_a_slash_is_sent_as_one_path_segment(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url(credentials(couchdb_url)))
    db = f"account/{secrets.token_hex(2)}/{secrets.token_hex(2)}/{secrets.token_hex(12)}"
    await couch.create_db(db)
    await couch.save_doc(db, {"_id": "doc"})
    assert f"PUT /{db.replace('/', '%2F')}/doc HTTP/1.1".encode() in proxy.sent


async def test_credentials_go_in_basic_auth_never_in_the_request_line(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url("admin:s3cr%2Ft pass" if not credentials(couchdb_url) else credentials(couchdb_url)))
    user_pass = credentials(couchdb_url) or "admin:s3cr/t pass"
    try:
        await couch.all_dbs()
    except CouchError as exc:  # a server without these credentials says 401; the header was sent
        assert exc.status == 401
    token = base64.b64encode(user_pass.encode()).decode()
    head = bytes(proxy.sent).split(b"\r\n\r\n")[0].decode()
    assert f"Authorization: Basic {token}".lower() in head.lower()
    assert user_pass.split(":")[1] not in head.split("\r\n")[0] and "@" not in head.split("\r\n")[0]
    assert couch.url == proxy.url()  # and never in the URL the client shows


async def test_wrong_credentials_are_a_couch_error_not_an_outage(make_client, couchdb_url):
    if not credentials(couchdb_url):
        pytest.skip("this server takes any request (no admin configured)")
    u = URL(couchdb_url)
    couch = make_client(str(u.with_password("wrong-" + secrets.token_hex(3))))
    with pytest.raises(CouchError) as err:
        await couch.all_dbs()
    assert err.value.status == 401 and not isinstance(err.value, Unreachable)


async def test_answers_map_to_the_clients_errors(make_client):
    couch = make_client()
    missing = "client_missing_" + secrets.token_hex(4)
    with pytest.raises(NotFound) as err:
        await couch.get_doc(missing, "x")
    assert err.value.db_missing and err.value.db == missing
    db = await fresh_db(couch)
    with pytest.raises(NotFound) as err:
        await couch.get_doc(db, "nope")
    assert not err.value.db_missing and err.value.error == "not_found"
    doc = await couch.save_doc(db, {"_id": "d"})
    with pytest.raises(Conflict) as err:
        await couch.save_doc(db, {"_id": "d"})
    assert err.value.status == 409 and err.value.error == "conflict"
    assert (await couch.delete_doc(db, "d", doc["_rev"])).startswith("2-")
    with pytest.raises(CouchError) as err:  # a 400 is neither a conflict nor an outage
        await couch.save_doc(db, {"_id": "_reserved"})
    assert err.value.status == 400 and type(err.value) is CouchError and err.value.reason
    for bad in ("", ".", ".."):  # never sent: the URL would name the database or the server
        with pytest.raises(NotFound):
            await couch.get_doc(db, bad)


async def test_head_answers_and_the_pool_goes_on(make_client):
    couch = make_client()
    db = await fresh_db(couch)
    for _ in range(3):
        assert await couch.db_exists(db)
        assert not await couch.db_exists(db + "_no")
        assert (await couch.all_docs(db)) == []


async def test_large_bodies_and_streamed_answers(make_client):
    couch = make_client()
    db = await fresh_db(couch)
    big = {"_id": "big", "blob": "é" * 400_000, "list": list(range(20_000))}
    await couch.save_doc(db, dict(big))
    got = await couch.get_doc(db, "big")
    assert got["blob"] == big["blob"] and got["list"] == big["list"]
    await couch.bulk_docs(db, [{"_id": f"r{i:04d}", "n": i} for i in range(2000)])
    rows = await couch.all_docs(db, include_docs=True)  # a chunked answer on CouchDB 3
    assert len(rows) == 2001 and rows[0]["id"] == "big" and rows[1]["doc"]["n"] == 0


async def test_attachments_round_trip(make_client):
    couch = make_client()
    db = await fresh_db(couch)
    doc = await couch.save_doc(db, {"_id": "a"})
    data = secrets.token_bytes(5000)
    await couch.put_attachment(db, "a", "file name.bin", data, "application/octet-stream", doc["_rev"])
    assert await couch.get_attachment(db, "a", "file name.bin") == data


async def test_connections_are_kept_alive_and_capped(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url(credentials(couchdb_url)), limit=3)
    db = await fresh_db(couch)
    await couch.save_doc(db, {"_id": "d"})
    before = proxy.connections
    for _ in range(20):
        await couch.get_doc(db, "d")
    assert proxy.connections == before  # sequential requests reuse one connection
    await asyncio.gather(*(couch.get_doc(db, "d") for _ in range(40)))
    assert proxy.connections <= before + 3


async def test_a_stale_keep_alive_connection_is_sent_again(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url(credentials(couchdb_url)))
    db = await fresh_db(couch)
    await couch.save_doc(db, {"_id": "d", "v": 1})
    proxy.drop_from = 2  # the server closes a connection when its second request arrives
    opened = proxy.connections
    assert (await couch.get_doc(db, "d"))["v"] == 1
    assert (await couch.get_doc(db, "d"))["v"] == 1
    assert proxy.connections > opened  # the request went out again on a new connection


async def test_a_connection_closed_before_any_answer_is_unreachable(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url(credentials(couchdb_url)))
    proxy.drop_from = 1  # every connection closes at its first request
    with pytest.raises(Unreachable) as err:
        await asyncio.wait_for(couch.all_dbs(), 30)
    assert err.value.status == 0 and err.value.error == "datastore_unreachable"
    # no retry loop: keep-alive sends once (a fresh connection is not stale); aiohttp's session
    # retries an idempotent request once itself, and the client's one retry doubles that
    assert proxy.requests <= 4


async def test_an_answer_cut_midway_is_unreachable(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url(credentials(couchdb_url)))
    db = await fresh_db(make_client())
    await make_client().save_doc(db, {"_id": "d", "blob": "x" * 50_000})
    proxy.cut_after = 200  # the head and a little of the body
    with pytest.raises(Unreachable):
        await asyncio.wait_for(couch.get_doc(db, "d"), 30)


async def test_timeouts(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url(credentials(couchdb_url)), timeout_s=0.5)
    proxy.hold = True  # CouchDB never answers
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(Unreachable):
        await asyncio.wait_for(couch.all_dbs(), 30)
    assert loop.time() - t0 < 20  # bounded by the client's own timeout, not the test's
    proxy.hold = False
    assert isinstance(await couch.all_dbs(limit=1), list)  # the held connection was not reused
    closed = make_client(f"http://127.0.0.1:{free_port()}", connect_timeout_s=1)
    with pytest.raises(Unreachable) as err:
        await asyncio.wait_for(closed.all_dbs(), 30)
    # either transport: the API says "connection refused", not Kazoo's "datastore timeout"
    assert errors.from_couch(err.value).data == {"message": "datastore unreachable: connection refused"}


async def test_a_cancelled_request_leaves_the_pool_usable(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url(credentials(couchdb_url)), limit=1)
    proxy.hold = True
    task = asyncio.create_task(couch.all_dbs())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    proxy.hold = False
    assert isinstance(await asyncio.wait_for(couch.all_dbs(), 30), list)


async def test_a_closed_client_opens_new_connections_when_used_again(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url(credentials(couchdb_url)))
    assert isinstance(await couch.all_dbs(), list)
    await couch.close()
    opened = proxy.connections
    assert isinstance(await couch.all_dbs(), list)
    assert proxy.connections == opened + 1


async def test_requests_queued_past_the_limit_time_out_and_free_their_places(make_client, proxy, couchdb_url):
    couch = make_client(proxy.url(credentials(couchdb_url)), limit=1, timeout_s=0.5)
    proxy.hold = True
    results = await asyncio.wait_for(asyncio.gather(*(couch.all_dbs() for _ in range(3)), return_exceptions=True), 30)
    assert all(isinstance(r, Unreachable) for r in results)
    proxy.hold = False
    # one at a time: each request's deadline counts its wait for the one place, so five at once
    # would time out behind each other on a slow CouchDB (CI: CouchDB 3 after the whole suite).
    # A place the timed-out requests kept would make every one of these time out.
    for _ in range(5):
        assert isinstance(await asyncio.wait_for(couch.all_dbs(limit=1), 30), list)


async def test_a_party_with_nothing_in_flight_does_not_queue_behind_another(proxy, couchdb_url: str):
    """The jobs' lane (keep-alive transport): with every place taken by party A and more of A's
    requests queued, party B, with nothing in flight, is sent at once on an extra place instead
    of after all of A's (bench F1: another account's one-number job queued behind an import's
    every request). The aiohttp transport, which speaks https, keeps arrival order.
    tests/unit/test_lane.py covers how places are handed on."""
    couch = CouchClient(proxy.url(credentials(couchdb_url)), transport="keepalive", limit=2)
    try:
        db = await fresh_db(couch)
        proxy.sent = b""

        async def read(party: str, doc_id: str) -> None:
            lane.PARTY.set(party)  # this task's own context
            with contextlib.suppress(NotFound):
                await couch.get_doc(db, doc_id)

        # in one go: A's first two take the places, A's other four wait, B has an extra place
        tasks = [asyncio.create_task(read("a", f"from-a-{i}")) for i in range(6)]
        tasks.append(asyncio.create_task(read("b", "from-b")))
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        order = [
            line.split(b"/")[2].split(b" ")[0].decode()
            for line in proxy.sent.split(b"\r\n")
            if line.startswith(b"GET ")
        ]
        # in arrival order B's read would be the last sent
        assert sorted(order) == sorted([f"from-a-{i}" for i in range(6)] + ["from-b"])
        assert order.index("from-b") == 2, order
        await couch.request("DELETE", f"/{names.encode(db)}")
    finally:
        await couch.close()
