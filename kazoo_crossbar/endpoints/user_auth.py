"""PUT /v2/user_auth: md5/sha1 credentials of `user:password` plus an account
name, realm or phone number for a token (cb_user_auth)."""
from __future__ import annotations

import re

from ..http import errors
from ..http import ratelimit
from ..http.context import Context
from ..storage import names
from ..storage.couch import NotFound
from ..storage.docs import alphanum_name
from .auth_common import check_account_usable, grant
from .base import Endpoint, check_schema

_DIGITS = re.compile(r"\D")


class UserAuth(Endpoint):
    nouns = ("user_auth",)
    authenticates_itself = True

    def allowed_methods(self, ctx: Context, args: list[str]) -> frozenset[str]:
        return frozenset({"PUT"}) if not args else frozenset()

    async def _candidates(self, ctx: Context, data: dict) -> list[str]:
        accounts = ctx.services.accounts
        if number := data.get("phone_number"):
            digits = _DIGITS.sub("", number)
            e164 = "+" + (digits if len(digits) != 10 else "1" + digits)
            try:
                doc = await ctx.services.couch.get_doc(names.numbers_db(e164), e164)
                if names.is_account_id(doc.get("pvt_assigned_to")):
                    return [doc["pvt_assigned_to"]]
            except NotFound:
                pass
        if realm := data.get("account_realm") or data.get("realm"):
            return await accounts.by_view("listing_by_realm", realm.lower())
        if name := data.get("account_name"):
            return await accounts.by_view("listing_by_name", alphanum_name(name))
        return []

    async def validate(self, ctx: Context, args: list[str]) -> None:
        await ratelimit.check(ctx, "user_auth_tokens")  # before any lookup: a guess costs tokens
        data = await check_schema(ctx, "user_auth", ctx.data)
        method = data.get("method", "md5")
        for account_id in await self._candidates(ctx, data):
            found = await ctx.services.accounts.user_by_credentials(account_id, data["credentials"].lower(), method)
            if not found:
                continue
            doc = await ctx.services.accounts.get(found.get("account_id") or account_id)
            if doc is None:
                continue
            check_account_usable(doc)
            ctx.doc = (doc, found.get("owner_id"))
            return
        raise errors.invalid_credentials()

    async def execute(self, ctx: Context, args: list[str]) -> None:
        doc, owner_id = ctx.doc
        await grant(ctx, doc, owner_id, "cb_user_auth")
