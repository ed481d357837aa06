"""The one request pipeline, in Kazoo's check order (api_resource.erl):

  parse body/envelope (400) → route + allowed methods (404/405) →
  /accounts/{id} exists (404) → authenticate (401) → authorize (403) →
  validate (400/404) → execute → envelope

Clients can tell which check failed first, so the order is part of the API.
Errors are raised, and rendered by the request middleware (middleware.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import unquote

import structlog
from aiohttp import web

from ..auth.tokens import InvalidToken, Tokens, masquerade
from ..storage import accounts as account_rules
from ..storage import lane
from ..storage.accounts import Accounts
from ..storage.system_config import SystemConfig
from . import body, envelope, errors
from .context import Context
from .endpoint import Endpoint
from .middleware import CONTEXT

log = structlog.get_logger(__name__)

KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"})


def refused_method(method: str, allowed: frozenset[str]) -> errors.ApiError:
    """A route's answer to a method it does not take: 405 with the allowed ones, or cowboy's 501
    for a method HTTP does not know (TRACE, CONNECT…)."""
    return errors.invalid_method(allowed) if method.upper() in KNOWN_METHODS else errors.not_implemented()


WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})
BANNER = "kazoo_crossbar: a Kazoo Crossbar compatible API. Requests go to /v2/...\n"
LOGIN_MAX_BODY = 16 * 1024  # api_auth/user_auth (endpoints that authenticate themselves)
PREAUTH_MAX_BODY = 64 * 1024  # larger bodies need a valid token before they are parsed
# Headers whose values reach storage or token checks (X-Request-ID is replaced when unprintable).
CHECKED_HEADERS = ("X-Auth-Token", "X-Auth-Account-ID", "If-Match")


def _refuse_surrogates(ctx: Context) -> None:
    """Invalid Unicode anywhere a value can come from is a 400 before anything is read or written."""
    values = [
        *ctx.path_tokens,
        *ctx.query,
        *(v for v in ctx.query.values() if isinstance(v, str)),
        *(ctx.request.headers.get(h, "") for h in CHECKED_HEADERS),
    ]
    joined = "".join(values)
    if not joined.isascii() and body.has_surrogate(joined):  # ASCII (the usual case) has none
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
    def __init__(self, endpoints: list[Endpoint[Any]], *, config: SystemConfig, accounts: Accounts, tokens: Tokens):
        self.config, self.accounts, self.tokens = config, accounts, tokens
        self.endpoints = {noun: ep for ep in endpoints for noun in ep.nouns}
        self.known_nouns = set(self.endpoints) | {"accounts"}
        self.login_nouns = {noun for ep in endpoints if ep.authenticates_itself for noun in ep.nouns}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ctx = request[CONTEXT]
        lane.ASKER.set("")  # an API request; about which account, once the URL says
        if ctx.method not in KNOWN_METHODS:
            raise errors.not_implemented()
        version, tokens = split_path(request.raw_path)
        if version is None:
            return web.Response(text=BANNER, content_type="text/plain", charset="UTF-8")
        ctx.version, ctx.path_tokens = version, tokens
        await self._parse(ctx)
        await self._early_authenticate(ctx)
        try:
            endpoint, args = self._route(ctx)
        except UnknownPath:
            # Kazoo authenticates before it says a path names no endpoint (401, then 404)
            await self._authenticate(ctx)
            raise errors.not_found() from None
        # the jobs' lane gives way to API requests about other accounts than its jobs' (storage/lane.py)
        lane.ASKER.set(ctx.account_id or "")
        if ctx.method == "OPTIONS" and envelope.is_cors(request):
            return web.Response(status=200, headers=envelope.cors_headers([*ctx.allowed, ctx.method]))
        if ctx.method not in ctx.allowed:
            raise errors.invalid_method(ctx.allowed)
        await self._check_account(ctx)
        if not endpoint.authenticates_itself:
            await self._authenticate(ctx)
            await self._authorize(ctx, endpoint, args)
        prepared = await endpoint.validate(ctx, args)
        if ctx.method in WRITE_METHODS:
            await endpoint.execute(ctx, args, prepared)
        return envelope.success(ctx, ctx.allowed)

    async def _parse(self, ctx: Context) -> None:
        ctx.query = body.parse_query(ctx.request.query_string)
        _refuse_surrogates(ctx)
        if ctx.request.body_exists:  # a GET has none: no config lookup, no read, nothing to parse
            if ctx.path_tokens[:1] and ctx.path_tokens[0] in self.login_nouns:
                max_size = LOGIN_MAX_BODY  # a login body is a few hundred bytes; read no more than that
            else:
                max_size = await self.config.setting_int("crossbar", "max_upload_size")
            raw = await body.read_body(ctx.request, max_size)
            ctx.body_size = len(raw)
            if len(raw) > PREAUTH_MAX_BODY:
                await self._token_before_parsing(ctx)
            ctx.envelope, ctx.data = await body.parse_envelope_off_loop(
                raw, ctx.request.headers.get("Content-Type", "")
            )
        else:
            ctx.envelope, ctx.data = {}, {}
        header_token = ctx.request.headers.get("X-Auth-Token", "").strip()
        token = header_token or ctx.req_value("auth_token")
        ctx.auth_token = token if isinstance(token, str) and token else None
        verb = ctx.req_value("verb")
        if ctx.method == "POST" and isinstance(verb, str) and verb.upper() in KNOWN_METHODS:
            ctx.method = verb.upper()  # tunnelled method (api_util:get_http_verb/2)

    async def _early_authenticate(self, ctx: Context) -> None:
        """cb_token_auth:early_authenticate (api_resource:allowed_methods, before routing and the
        URL's account check): a token that is presented and does not verify is a 401 at once, so
        it learns nothing of the path or the account. Without a token the request goes on, as in
        4.3 (docs/decisions.md: the account check then answers before authentication)."""
        if ctx.auth_token is None or ctx.method == "OPTIONS":
            return
        try:
            await self.tokens.verify(ctx.auth_token)  # cached: authentication below does not pay again
        except InvalidToken as exc:
            log.info("token_rejected", reason=str(exc), stage="early")
            raise errors.invalid_credentials() from exc

    async def _token_before_parsing(self, ctx: Context) -> None:
        """Parsing megabytes costs the event loop real time, so a large body is parsed only for a
        caller with a valid token in the header or query string (a deliberate difference: Kazoo
        parses first and would also find `auth_token` inside the body)."""
        token = ctx.request.headers.get("X-Auth-Token", "").strip() or ctx.query.get("auth_token")
        if not isinstance(token, str) or not token:
            raise errors.invalid_credentials()
        try:
            await self.tokens.verify(token)
        except InvalidToken as exc:
            raise errors.invalid_credentials() from exc

    def _route(self, ctx: Context) -> tuple[Endpoint[Any], list[str]]:
        """The endpoint and its arguments; sets ctx.nouns, ctx.account_id and ctx.allowed."""
        nouns = split_nouns(ctx.path_tokens, self.known_nouns)
        if not nouns:
            raise UnknownPath()
        endpoint = self.endpoints.get(nouns[-1][0])
        if endpoint is None:
            raise errors.not_found()
        ctx.nouns = nouns
        args = nouns[-1][1]
        if nouns[0][0] == "accounts":
            if any(n == "accounts" for n, _ in nouns[1:]):
                raise errors.not_found()
            if len(nouns) == 1:  # the accounts noun itself: /accounts/{A}[/children|…]
                ctx.account_id, args = (args[0], args[1:]) if args else (None, [])
            elif len(nouns[0][1]) > 1:
                raise errors.not_found()
            else:
                ctx.account_id = nouns[0][1][0] if nouns[0][1] else ""
        elif any(n == "accounts" for n, _ in nouns):
            raise errors.not_found()
        if args and args[0] in endpoint.subnouns:  # /resources/jobs/…: the sub-noun's own endpoint
            endpoint, args = endpoint.subnouns[args[0]], args[1:]
        allowed = endpoint.allowed_methods(ctx, args)
        if not allowed:
            raise errors.not_found()
        if ctx.request.method.upper() == "POST" and ctx.method in allowed:
            allowed = allowed | {"POST"}  # a tunnelled verb implicitly allows POST
        ctx.allowed = allowed
        return endpoint, args

    async def _check_account(self, ctx: Context) -> None:
        if ctx.account_id is None:
            return
        if ctx.account_id == "":
            raise errors.bad_account_id("missing account_id")
        if len(ctx.account_id) != 32:
            raise errors.bad_account_id(f"invalid account_id '{ctx.account_id}'")
        ctx.account_doc = await self.accounts.get(ctx.account_id)
        if ctx.account_doc is None:
            raise errors.bad_identifier(ctx.account_id)

    async def _authenticate(self, ctx: Context) -> None:
        if not ctx.auth_token:
            raise errors.invalid_credentials()
        try:
            ctx.claims = await self.tokens.verify(ctx.auth_token)
        except InvalidToken as exc:
            log.info("token_rejected", reason=str(exc))
            raise errors.invalid_credentials() from exc
        wanted = ctx.request.headers.get("X-Auth-Account-ID")
        if wanted and wanted != ctx.claims.account_id:
            raise errors.invalid_credentials()
        ctx.auth_account_doc = await self.accounts.get(ctx.claims.account_id)
        if ctx.auth_account_doc is None:
            raise errors.invalid_credentials()
        # cb_token_auth:is_account_expired: the token's account trial has ended → 400. A disabled
        # account is refused too (4.3 checks that only at login: docs/decisions.md).
        refusal = account_rules.unusable(ctx.auth_account_doc)
        if refusal is not None:
            raise errors.validation(refusal)
        await self._act_as(ctx)

    async def _act_as(self, ctx: Context) -> None:
        """cb_token_auth:check_as: a token whose `as` names a descendant of its account acts as
        that account and user from here on (who may do what, and the `pvt_auth_*` it writes); an
        `as` naming anything else (the token's own account included) fails authentication."""
        assert ctx.claims is not None
        target = masquerade(ctx.claims.raw)
        if target is None:
            return
        as_account, as_owner = target
        acting = (
            await self.accounts.get(as_account)
            if await self.accounts.is_descendant(ctx.claims.account_id, as_account)
            else None
        )
        if acting is None:
            log.info("token_rejected", reason="as is not a descendant")
            raise errors.invalid_credentials()
        ctx.claims = replace(
            ctx.claims, account_id=as_account, owner_id=as_owner if isinstance(as_owner, str) else None
        )
        ctx.auth_account_doc = acting

    async def _authorize(self, ctx: Context, endpoint: Endpoint[Any], args: list[str]) -> None:
        decision = await endpoint.authorize(ctx, args)
        if decision is None:
            decision = generic_authorize(ctx)
        if not decision:
            raise errors.forbidden()


def generic_authorize(ctx: Context) -> bool:
    """cb_simple_authz: super-duper admin, or the URL's account is the token's or a descendant of it."""
    if ctx.is_superduper_admin:
        return True
    if ctx.account_doc is None or ctx.auth_account_id is None:
        return False
    return account_rules.is_ancestor_or_self(ctx.auth_account_id, ctx.account_doc)
