"""PUT /v2/api_auth: an account API key (`pvt_api_key`) for a token (cb_api_auth)."""
from __future__ import annotations

from ..http import errors
from ..http import ratelimit
from ..http.context import Context
from ..storage import names
from .auth_common import check_account_usable, grant
from .base import Endpoint, check_schema


class ApiAuth(Endpoint):
    nouns = ("api_auth",)
    authenticates_itself = True

    def allowed_methods(self, ctx: Context, args: list[str]) -> frozenset[str]:
        return frozenset({"PUT"}) if not args else frozenset()

    async def validate(self, ctx: Context, args: list[str]) -> None:
        await ratelimit.check(ctx, "api_auth_tokens")  # before any lookup: a guess costs tokens
        data = await check_schema(ctx, "api_auth", ctx.data)
        api_key = data["api_key"]
        for account_id in await ctx.services.accounts.by_view("listing_by_api", api_key):
            doc = await ctx.services.accounts.get(account_id)
            if doc is not None and names.is_account_id(account_id):
                check_account_usable(doc)
                ctx.doc = doc
                return
        raise errors.bad_identifier_list(api_key)

    async def execute(self, ctx: Context, args: list[str]) -> None:
        await grant(ctx, ctx.doc, None, "cb_api_auth")
