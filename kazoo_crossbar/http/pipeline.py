"""The one request pipeline, in Kazoo's check order (api_resource.erl):

  parse body/envelope (400) → route + allowed methods (404/405) →
  /accounts/{id} exists (404) → authenticate (401) → authorize (403) →
  validate (400/404) → execute → envelope

Clients can tell which check failed first, so the order is part of the API.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

import time

import structlog
from aiohttp import web

from ..auth.tokens import InvalidToken
from ..storage import accounts as account_rules
from ..storage.couch import CouchError
from . import body, envelope, errors
from .context import Context, new_request_id
from .errors import ApiError

if TYPE_CHECKING:
    from ..app import Services
    from ..endpoints.base import Endpoint

log = structlog.get_logger(__name__)

KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"})
WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})
BANNER = "kazoo_crossbar: a Kazoo Crossbar compatible API. Requests go to /v2/...\n"


AUTH_NOUNS = frozenset({"api_auth", "user_auth"})
AUTH_MAX_BODY = 16 * 1024
PREAUTH_MAX_BODY = 64 * 1024  # larger bodies need a valid token before they are parsed
# Headers whose values reach storage or token checks (X-Request-ID is replaced when unprintable).
CHECKED_HEADERS = ("X-Auth-Token", "X-Auth-Account-ID", "If-Match")


def _refuse_surrogates(ctx: Context) -> None:
    """Invalid Unicode anywhere a value can come from is a 400 before anything is read or written."""
    values = [*ctx.path_tokens, *ctx.query, *(v for v in ctx.query.values() if isinstance(v, str)),
              *(ctx.request.headers.get(h, "") for h in CHECKED_HEADERS)]
    if any(body.has_surrogate(v) for v in values):
        raise errors.invalid_json("invalid_string")


class UnknownPath(Exception):
    """The path after the version does not start with any noun."""


def split_path(raw_path: str) -> tuple[str | None, list[str]]:
    """(version, tokens) of `/vN/...`; tokens are URI-decoded twice, as cb_context:path_tokens/1 does."""
    parts = [unquote(unquote(p)) for p in raw_path.split("?", 1)[0].split("/") if p]
    if not parts or not (parts[0][:1] == "v" and parts[0][1:].isdigit()):
        return None, parts
    return parts[0], parts[1:]


def split_nouns(tokens: list[str], known: set[str]) -> list[tuple[str, list[str]]] | None:
    """[(noun, args), …] in path order; None when the path does not start with a noun."""
    nouns: list[tuple[str, list[str]]] = []
    for token in tokens:
        if token in known:
            nouns.append((token, []))
        elif nouns:
            nouns[-1][1].append(token)
        else:
            return None
    return nouns or None


class Pipeline:
    def __init__(self, services: "Services", endpoints: list["Endpoint"]):
        self.services = services
        self.endpoints = {noun: ep for ep in endpoints for noun in ep.nouns}
        self.known_nouns = set(self.endpoints) | {"accounts"}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        ctx = Context(request=request, services=self.services, method=request.method.upper(),
                      request_id=new_request_id(request.headers.get("X-Request-ID")))
        allowed: frozenset[str] = frozenset()
        with structlog.contextvars.bound_contextvars(request_id=ctx.request_id):
            try:
                if ctx.method not in KNOWN_METHODS:
                    # cowboy's 501 for methods it does not know (TRACE, CONNECT…), with a Kazoo body
                    raise ApiError(501, "not_implemented", {"message": "method not implemented"})
                version, tokens = split_path(request.raw_path)
                if version is None:
                    return web.Response(text=BANNER, content_type="text/plain", charset="UTF-8")
                ctx.version, ctx.path_tokens = version, tokens
                await self._parse(ctx)
                try:
                    endpoint, args, allowed = self._route(ctx)
                except UnknownPath:
                    # Kazoo authenticates before it says a path names no endpoint (401, then 404)
                    await self._authenticate(ctx)
                    raise errors.not_found() from None
                if ctx.method == "OPTIONS" and envelope.is_cors(request):
                    return web.Response(status=200, headers=envelope.cors_headers([*allowed, ctx.method]))
                if ctx.method not in allowed:
                    raise errors.invalid_method(allowed)
                await self._check_account(ctx)
                if not endpoint.authenticates_itself:
                    await self._authenticate(ctx)
                    await self._authorize(ctx, endpoint, args)
                await endpoint.validate(ctx, args)
                if ctx.method in WRITE_METHODS:
                    await endpoint.execute(ctx, args)
                response = envelope.success(ctx, allowed)
            except ApiError as exc:
                response = envelope.error(ctx, exc, allowed)
            except CouchError as exc:
                log.warning("couchdb_error", status=exc.status, error=exc.error, reason=exc.reason, db=exc.db)
                self.services.metrics.couchdb_errors.labels(error=exc.error or str(exc.status)).inc()
                response = envelope.error(ctx, errors.from_couch(exc), allowed)
            except Exception:  # a bug: log it, never show a traceback
                log.exception("unhandled_error", path=request.path, method=ctx.method)
                response = envelope.error(ctx, ApiError(500, "unspecified_fault",
                                                        {"message": "unspecified fault"}), allowed)
            if ctx.method == "HEAD":
                response.body = b""
            label = endpoint_label(ctx)
            metrics = self.services.metrics
            metrics.requests.labels(endpoint=label, method=ctx.method, status=str(response.status)).inc()
            metrics.latency.labels(endpoint=label, method=ctx.method).observe(time.perf_counter() - started)
            log.info("request", method=ctx.method, path=request.path, status=response.status)
            return response

    async def _parse(self, ctx: Context) -> None:
        ctx.query = body.parse_query(ctx.request.query_string)
        _refuse_surrogates(ctx)
        if ctx.path_tokens[:1] and ctx.path_tokens[0] in AUTH_NOUNS:
            max_size = AUTH_MAX_BODY  # a login body is a few hundred bytes; read no more than that
        else:
            max_size = await self.services.config.get_int("crossbar", "max_upload_size", 8_000_000)
        raw = await body.read_body(ctx.request, max_size)
        if len(raw) > PREAUTH_MAX_BODY:
            await self._token_before_parsing(ctx)
        ctx.envelope, ctx.data = await body.parse_envelope_off_loop(raw, ctx.request.headers.get("Content-Type", ""))
        header_token = ctx.request.headers.get("X-Auth-Token", "").strip()
        token = header_token or ctx.req_value("auth_token")
        ctx.auth_token = token if isinstance(token, str) and token else None
        verb = ctx.req_value("verb")
        if ctx.method == "POST" and isinstance(verb, str) and verb.upper() in KNOWN_METHODS:
            ctx.method = verb.upper()  # tunnelled method (api_util:get_http_verb/2)

    async def _token_before_parsing(self, ctx: Context) -> None:
        """Parsing megabytes costs the event loop real time, so a large body is parsed only for a
        caller with a valid token in the header or query string (a deliberate difference: Kazoo
        parses first and would also find `auth_token` inside the body)."""
        token = ctx.request.headers.get("X-Auth-Token", "").strip() or ctx.query.get("auth_token")
        if not isinstance(token, str) or not token:
            raise errors.invalid_credentials()
        try:
            await self.services.tokens.verify(token)
        except InvalidToken as exc:
            raise errors.invalid_credentials() from exc

    def _route(self, ctx: Context) -> tuple["Endpoint", list[str], frozenset[str]]:
        nouns = split_nouns(ctx.path_tokens, self.known_nouns)
        if not nouns:
            raise UnknownPath()
        endpoint = self.endpoints.get(nouns[-1][0])
        if endpoint is None:
            raise errors.not_found()
        ctx.nouns = nouns
        if nouns[0][0] == "accounts":
            if len(nouns) < 2 or len(nouns[0][1]) > 1 or any(n == "accounts" for n, _ in nouns[1:]):
                raise errors.not_found()
            ctx.account_id = nouns[0][1][0] if nouns[0][1] else ""
        elif any(n == "accounts" for n, _ in nouns):
            raise errors.not_found()
        args = nouns[-1][1]
        allowed = endpoint.allowed_methods(ctx, args)
        if not allowed:
            raise errors.not_found()
        if ctx.request.method.upper() == "POST" and ctx.method in allowed:
            allowed = allowed | {"POST"}  # a tunnelled verb implicitly allows POST
        return endpoint, args, allowed

    async def _check_account(self, ctx: Context) -> None:
        if ctx.account_id is None:
            return
        if ctx.account_id == "":
            raise ApiError(404, "bad identifier", {"message": "missing account_id"})
        if len(ctx.account_id) != 32:
            raise ApiError(404, "bad identifier", {"message": f"invalid account_id '{ctx.account_id}'"})
        ctx.account_doc = await self.services.accounts.get(ctx.account_id)
        if ctx.account_doc is None:
            raise errors.bad_identifier(ctx.account_id)

    async def _authenticate(self, ctx: Context) -> None:
        if not ctx.auth_token:
            raise errors.invalid_credentials()
        try:
            ctx.claims = await self.services.tokens.verify(ctx.auth_token)
        except InvalidToken as exc:
            log.info("token_rejected", reason=str(exc))
            raise errors.invalid_credentials() from exc
        wanted = ctx.request.headers.get("X-Auth-Account-ID")
        if wanted and wanted != ctx.claims.account_id:
            raise errors.invalid_credentials()
        ctx.auth_account_doc = await self.services.accounts.get(ctx.claims.account_id)
        if ctx.auth_account_doc is None:
            raise errors.invalid_credentials()

    async def _authorize(self, ctx: Context, endpoint: "Endpoint", args: list[str]) -> None:
        decision = await endpoint.authorize(ctx, args)
        if decision is None:
            decision = generic_authorize(ctx)
        if not decision:
            raise errors.forbidden()


def endpoint_label(ctx: Context) -> str:
    """A low-cardinality name for metrics: the noun, `accounts/` when scoped, plus `jobs`/`collection`."""
    if not ctx.nouns:
        return "unknown"
    noun, args = ctx.nouns[-1]
    scope = "accounts/" if ctx.account_id is not None else ""
    sub = f"/{args[0]}" if args and args[0] in ("jobs", "collection") else ("/{id}" if args else "")
    return f"{scope}{noun}{sub}"


def generic_authorize(ctx: Context) -> bool:
    """cb_simple_authz: super-duper admin, or the URL's account is the token's or a descendant of it."""
    if ctx.is_superduper_admin:
        return True
    if ctx.account_doc is None or ctx.auth_account_id is None:
        return False
    return account_rules.is_ancestor_or_self(ctx.auth_account_id, ctx.account_doc)
