"""The operator console at /ui/: static files shipped in the package (kazoo_crossbar/ui/), plain
ES modules with no build step. The page only calls the public API with the caller's token.

Only the files present in the package folder at start-up are served (looked up by name in a
table, so no request path can reach outside it), and `defaults.json`: the system_config defaults
the console uses when it may not read the live values, built from system_config/ at start; any other path or method under /ui is a Kazoo
envelope (404, 405 or 501), never the API's root banner. Every answer carries a strict
Content-Security-Policy: scripts and styles from this origin only, no inline code."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from .http import errors
from .http.pipeline import refused_method
from .storage.system_config import shipped_defaults

UI_DIR = Path(__file__).resolve().parent / "ui"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
READ_METHODS = frozenset({"GET", "HEAD"})
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def shipped_files(folder: Path = UI_DIR) -> dict[str, Path]:
    """URL path below /ui/ → file, for every servable file of the folder."""
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix in CONTENT_TYPES
    }


# The system_config defaults the console falls back on when it cannot read the live values (only
# a super-duper admin may read system_configs), built from system_config/ so none is written twice.
PUBLIC_DEFAULTS = ("crossbar.resources", "number_manager")
DEFAULTS_FILE = "defaults.json"


def public_defaults() -> bytes:
    shipped = shipped_defaults()
    return json.dumps({c: shipped[c].get("default", {}) for c in PUBLIC_DEFAULTS if c in shipped}).encode()


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")


class Console:
    def __init__(self, folder: Path = UI_DIR):
        self.files = shipped_files(folder)
        self.generated = {DEFAULTS_FILE: public_defaults()}

    async def index_redirect(self, request: web.Request) -> web.StreamResponse:
        """/ui → /ui/ (the page's relative module paths need the slash)."""
        raise web.HTTPMovedPermanently("/ui/", headers=HEADERS)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        return self._file(request.match_info.get("path", "") or "index.html")

    async def fallback(self, request: web.Request) -> web.StreamResponse:
        """Everything else under /ui: HEAD as GET (the middleware drops the body), a path of more
        than one segment (`/ui/../x`, `/ui/a/`) a 404, another method a 405 (501 when unknown)."""
        method, rest = request.method.upper(), request.match_info.get("rest", "")
        if method not in READ_METHODS:
            raise refused_method(method, READ_METHODS)
        if rest == "" and method == "HEAD":
            return await self.index_redirect(request)
        return self._file(rest[1:] or "index.html")

    def _file(self, name: str) -> web.Response:
        path = self.files.get(name)
        body = path.read_bytes() if path is not None else self.generated.get(name)
        if body is None:
            raise errors.not_found()
        charset = "utf-8" if content_type(name).startswith(("text/", "application/json", "image/svg")) else None
        return web.Response(body=body, content_type=content_type(name), charset=charset, headers=HEADERS)


def _operation(op_id: str, summary: str, params: list | None = None) -> dict:
    html = {"description": "a console file", "content": {"text/html": {"schema": {"type": "string"}}}}
    missing = {
        "description": "no such file",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }
    return {
        "operationId": op_id,
        "summary": summary,
        "security": [],
        "parameters": params or [],
        "responses": {"200": html, "404": missing},
    }


UI_ROOT = _operation("console", "The operator console (index.html)")
UI_FILE = _operation(
    "console_file",
    "A file of the operator console",
    [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
)
UI_REDIRECT = {
    "operationId": "console_redirect",
    "summary": "Redirects to /ui/",
    "security": [],
    "responses": {"301": {"description": "to /ui/"}},
}
