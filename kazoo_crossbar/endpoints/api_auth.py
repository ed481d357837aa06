"""PUT /v2/api_auth: an account API key (`pvt_api_key`) for a token (cb_api_auth)."""

from __future__ import annotations

from ..http import errors
from ..http.context import Context
from ..http.endpoint import Mount
from ..storage import names
from .auth_common import Login, LoginEndpoint, check_account_usable, grant, login_routes
from .base import check_schema


class ApiAuth(LoginEndpoint):
    nouns = ("api_auth",)
    token_cost_key = "api_auth_tokens"
    routes = login_routes("api_auth", "A token for an account API key")
    mounts = (Mount("/v2/api_auth"),)

    async def validate(self, ctx: Context, args: list[str]) -> Login:
        await self.spend_tokens(ctx)
        data = await check_schema(self.config, "api_auth", ctx.data)
        api_key = data["api_key"]
        for account_id in await self.accounts.by_view("listing_by_api", api_key):
            doc = await self.accounts.get(account_id)
            if doc is not None and names.is_account_id(account_id):
                check_account_usable(doc)
                return Login(doc, as_claim=data.get("as"))
        raise errors.bad_identifier_list(api_key)

    async def execute(self, ctx: Context, args: list[str], prepared: Login) -> None:
        await grant(ctx, self.tokens, self.config, self.info, prepared, "cb_api_auth")
