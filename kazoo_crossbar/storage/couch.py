"""A thin CouchDB 3 client on a pool of keep-alive connections (storage/transport.py moves the
bytes; this module builds the requests and maps CouchDB's answers).

Why not aiocouch: it parses every response body twice, its `_all_docs` URL is not
encoded (database names with `/` get 404) and its bulk helpers assert result order.
Everything here is plain CouchDB 3 HTTP API, nothing the embedded dev server offers
beyond it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

from yarl import URL

from .. import jsonc
from . import names, retry
from .errors import Conflict, CouchError, NotFound, Unreachable
from .transport import AiohttpTransport, KeepAliveTransport, StaleConnection, Transport

JSON_HEADERS = {"Content-Type": "application/json"}  # Accept: by the transport, on every request
# View and _all_docs parameters CouchDB expects as JSON values.
_JSON_PARAMS = {"key", "keys", "startkey", "endkey", "start_key", "end_key"}
# A path made only of these characters is already percent-encoded (names.url_path, doc_path):
# it is sent as it is, saving aiohttp's URL parsing and re-quoting on every request.
_ENCODED_PATH = re.compile(r"[A-Za-z0-9\-._~%/!$&'()*+,;=:@]*")


def doc_path(doc_id: str) -> str:
    # Design and local document ids keep their `/` (CouchDB routes on it).
    for prefix in ("_design/", "_local/"):
        if doc_id.startswith(prefix):
            return prefix + quote(doc_id[len(prefix) :], safe="")
    return quote(doc_id, safe="")


def _params(params: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        if key in _JSON_PARAMS:
            out[key] = jsonc.dumps_str(value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def answer_field(res: Any, key: str, kind: type, db: str | None) -> Any:
    """res[key] from CouchDB's success answer; an answer without it (an error body under a
    success status) is a CouchError, a datastore fault, not a KeyError."""
    if isinstance(res, dict) and isinstance(res.get(key), kind):
        return res[key]
    raise malformed(res, f"the answer has no {key!r}", db)


def malformed(res: Any, what: str, db: str | None) -> CouchError:
    error = res.get("error") if isinstance(res, dict) else None
    reason = res.get("reason") if isinstance(res, dict) else None
    return CouchError(200, str(error or "bad_response"), str(reason or what), db)


TRANSPORTS = ("keepalive", "aiohttp")


class CouchClient:
    """`limit`: requests in flight at once (one connection each). `transport`: "keepalive"
    (httptools, the default for http) or "aiohttp" (the default for https)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        limit: int = 64,
        transport: str | None = None,
    ):
        parsed = URL(url)
        # Credentials in the URL become Basic auth (in the transport); never in logs or paths.
        self.url = str(parsed.with_user(None)).rstrip("/")
        self._prefix = parsed.raw_path.rstrip("/")  # CouchDB behind a path prefix
        kind = transport or ("keepalive" if parsed.scheme == "http" else "aiohttp")
        if kind not in TRANSPORTS:
            raise ValueError(f"transport: one of {TRANSPORTS}, not {kind!r}")
        cls = KeepAliveTransport if kind == "keepalive" else AiohttpTransport
        self.transport: Transport = cls(url, timeout_s=timeout_s, connect_timeout_s=connect_timeout_s, limit=limit)

    def give_way_to(self, other: CouchClient) -> None:
        """This client keeps to one request in flight while `other` sends API requests about
        other accounts than its jobs' (lane.py). Keep-alive transports only: over https both
        keep their limits."""
        if isinstance(self.transport, KeepAliveTransport) and isinstance(other.transport, KeepAliveTransport):
            self.transport.places.gives_way_to = other.transport.places.activity

    async def close(self) -> None:
        await self.transport.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        db: str | None = None,
        raw: bool = False,
    ) -> Any:
        target = self._target(path, _params(params) if params else None)
        if body is not None:
            data, headers = jsonc.dumps(body), JSON_HEADERS

        async def attempt() -> Any:
            resp = await self.transport.request(method, target, data, headers)
            payload = resp.body
            if resp.status >= 400:
                raise self._error(resp.status, payload, db)
            if raw:
                return payload, resp.headers
            try:
                return jsonc.loads(payload) if payload else None
            except ValueError:
                raise CouchError(resp.status, "bad_response", "the answer is not JSON", db) from None

        try:
            # a pooled keep-alive connection the server closed (e.g. it restarted): one fresh try
            return await retry.retrying(attempt, tries=2, retry_on=(StaleConnection,))
        except (TimeoutError, OSError) as exc:  # ConnectionError is an OSError
            raise Unreachable(0, "datastore_unreachable", str(exc) or type(exc).__name__, db) from exc

    def _target(self, path: str, query: dict[str, str] | None) -> str:
        """The request target: the path as it is when already percent-encoded (names.url_path,
        doc_path), otherwise quoted as a URL is (escapes kept, a `?` starts a query); the query
        encoded here."""
        if not _ENCODED_PATH.fullmatch(path):
            path = URL(path).raw_path_qs
        target = self._prefix + path
        if query:
            target += ("&" if "?" in path else "?") + urlencode(query, quote_via=quote, safe="")
        return target

    @staticmethod
    def _error(status: int, payload: bytes, db: str | None) -> CouchError:
        """CouchDB's answer as an exception. Only CouchDB's own `not_found` is NotFound (a 404 of a
        HEAD has no body): any other answer, a 404 from something in front of CouchDB included,
        is a fault of the datastore (503), never a missing document. A 412 is `file_exists` (a
        database that exists: Conflict) or CouchDB's `nodedown` during a cluster outage."""
        try:
            body = jsonc.loads(payload) if payload else {}
            error, reason = str(body.get("error", "")), str(body.get("reason", ""))
        except (ValueError, AttributeError):
            error, reason = "unknown", payload[:200].decode("utf-8", "replace")
        if status == 404 and (error == "not_found" or not payload):
            return NotFound(status, "not_found", reason, db)
        if status == 409 or (status == 412 and error == "file_exists"):
            return Conflict(status, error, reason, db)
        return CouchError(status, error or "unknown", reason, db)

    # --- server and databases -------------------------------------------------
    async def up(self) -> bool:
        try:
            await self.request("GET", "/_up")
            return True
        except CouchError:
            return False

    async def all_dbs(self, **params: Any) -> list[str]:
        return await self.request("GET", "/_all_dbs", params=params)

    async def db_exists(self, db: str) -> bool:
        try:
            await self.request("HEAD", f"/{names.url_path(db)}", db=db)
            return True
        except NotFound:
            return False

    async def create_db(self, db: str) -> bool:
        """Create a database; False when it already existed."""
        try:
            await self.request("PUT", f"/{names.url_path(db)}", db=db)
            return True
        except Conflict:
            return False

    # --- documents -----------------------------------------------------------------
    async def get_doc(self, db: str, doc_id: str, **params: Any) -> dict:
        if doc_id in ("", ".", ".."):  # URL normalisation would read the database info or the root
            raise NotFound(404, "not_found", "missing", db)
        doc = await self.request("GET", f"/{names.url_path(db)}/{doc_path(doc_id)}", params=params, db=db)
        answer_field(doc, "_id", str, db)  # a document, not an error body under a 200
        return doc

    async def save_doc(self, db: str, doc: dict) -> dict:
        """PUT the document (its `_rev` decides create vs update); updates `_rev` in place."""
        res = await self.request("PUT", f"/{names.url_path(db)}/{doc_path(doc['_id'])}", body=doc, db=db)
        doc["_rev"] = answer_field(res, "rev", str, db)
        return doc

    async def delete_doc(self, db: str, doc_id: str, rev: str) -> str:
        res = await self.request("DELETE", f"/{names.url_path(db)}/{doc_path(doc_id)}", params={"rev": rev}, db=db)
        return answer_field(res, "rev", str, db)

    async def bulk_docs(self, db: str, docs: list[dict]) -> list[dict]:
        """`_bulk_docs`; per-document results (`{"id","rev"}` or `{"id","error","reason"}`), request order."""
        res = await self.request("POST", f"/{names.url_path(db)}/_bulk_docs", body={"docs": docs}, db=db)
        if not isinstance(res, list):
            raise malformed(res, "the answer is not a list of results", db)
        return res

    async def all_docs(self, db: str, keys: Iterable[str] | None = None, **params: Any) -> list[dict]:
        path = f"/{names.url_path(db)}/_all_docs"
        if keys is not None:
            res = await self.request("POST", path, params=params, body={"keys": list(keys)}, db=db)
        else:
            res = await self.request("GET", path, params=params, db=db)
        return answer_field(res, "rows", list, db)

    async def view(self, db: str, design: str, view: str, *, keys: list | None = None, **params: Any) -> dict:
        """The view's answer; it always has `rows` (a CouchError otherwise)."""
        path = f"/{names.url_path(db)}/_design/{quote(design, safe='')}/_view/{quote(view, safe='')}"
        if keys is not None:
            res = await self.request("POST", path, params=params, body={"keys": keys}, db=db)
        else:
            res = await self.request("GET", path, params=params, db=db)
        answer_field(res, "rows", list, db)
        return res

    # --- attachments -----------------------------------------------------------------
    async def put_attachment(self, db: str, doc_id: str, name: str, data: bytes, content_type: str, rev: str) -> str:
        path = f"/{names.url_path(db)}/{doc_path(doc_id)}/{quote(name, safe='')}"
        res = await self.request(
            "PUT", path, params={"rev": rev}, data=data, headers={"Content-Type": content_type}, db=db
        )
        return answer_field(res, "rev", str, db)

    async def get_attachment(self, db: str, doc_id: str, name: str) -> bytes:
        path = f"/{names.url_path(db)}/{doc_path(doc_id)}/{quote(name, safe='')}"
        payload, _ = await self.request("GET", path, db=db, raw=True)
        return payload
