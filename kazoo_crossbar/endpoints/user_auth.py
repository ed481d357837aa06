"""PUT /v2/user_auth: md5/sha1 credentials of `user:password` plus an account
name, realm or phone number for a token (cb_user_auth)."""

from __future__ import annotations

import re

from ..http import errors
from ..http.context import Context
from ..http.endpoint import Mount
from ..storage import names
from ..storage.couch import NotFound
from ..storage.docs import alphanum_name
from .auth_common import Login, LoginEndpoint, check_account_usable, grant, login_routes
from .base import check_schema

_DIGITS = re.compile(r"\D")


class UserAuth(LoginEndpoint):
    nouns = ("user_auth",)
    token_cost_key = "user_auth_tokens"
    routes = login_routes("user_auth", "A token for user credentials")
    mounts = (Mount("/v2/user_auth"),)

    async def _candidates(self, ctx: Context, data: dict) -> list[str]:
        accounts = self.accounts
        if number := data.get("phone_number"):
            digits = _DIGITS.sub("", number)
            e164 = "+" + (digits if len(digits) != 10 else "1" + digits)
            try:
                doc = await accounts.couch.get_doc(names.numbers_db(e164), e164)
                if names.is_account_id(doc.get("pvt_assigned_to")):
                    return [doc["pvt_assigned_to"]]
            except NotFound:
                pass
        if realm := data.get("account_realm") or data.get("realm"):
            return await accounts.by_view("listing_by_realm", realm.lower())
        if name := data.get("account_name"):
            return await accounts.by_view("listing_by_name", alphanum_name(name))
        return []

    async def validate(self, ctx: Context, args: list[str]) -> Login:
        await self.spend_tokens(ctx)
        data = await check_schema(self.config, "user_auth", ctx.data)
        method = data.get("method", "md5")
        for account_id in await self._candidates(ctx, data):
            found = await self.accounts.user_by_credentials(account_id, data["credentials"].lower(), method)
            if not found:
                continue
            doc = await self.accounts.get(found.get("account_id") or account_id)
            if doc is None:
                continue
            check_account_usable(doc)
            return Login(doc, found.get("owner_id"), data.get("as"))
        raise errors.invalid_credentials()

    async def execute(self, ctx: Context, args: list[str], prepared: Login) -> None:
        await grant(ctx, self.tokens, self.config, self.info, prepared, "cb_user_auth")
