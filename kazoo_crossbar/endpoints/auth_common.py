"""What api_auth and user_auth share: the account checks at login and the
response Kazoo builds for a new token (crossbar_util:response_auth/3)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..auth.tokens import Tokens
from ..http import errors
from ..http.context import Context
from ..http.endpoint import Endpoint
from ..http.ratelimit import TokenBuckets
from ..storage import accounts as account_rules
from ..storage.accounts import Accounts
from ..storage.system_config import SystemConfig


@dataclass(frozen=True)
class Login:
    """What validate found: the account (and user) a token is issued for."""

    account_doc: dict
    owner_id: str | None = None


class LoginEndpoint(Endpoint[Login]):
    """`PUT /v2/<noun>` that issues a token: no token needed, no arguments."""

    authenticates_itself = True
    # crossbar's per-endpoint token cost key (used when `token_costs` is not one integer)
    token_cost_key: ClassVar[str] = ""

    def __init__(self, accounts: Accounts, tokens: Tokens, config: SystemConfig, buckets: TokenBuckets):
        self.accounts, self.tokens, self.config, self.buckets = accounts, tokens, config, buckets

    async def spend_tokens(self, ctx: Context) -> None:
        """429 when the client's bucket is empty; first in validate, so every guess costs tokens."""
        await self.buckets.check(ctx.request.remote, self.token_cost_key)

    def allowed_methods(self, ctx: Context, args: list[str]) -> frozenset[str]:
        return frozenset({"PUT"}) if not args else frozenset()


def check_account_usable(doc: dict) -> None:
    """400 for an expired trial or a disabled account (cb_user_auth:maybe_account_is_expired)."""
    refusal = account_rules.unusable(doc)
    if refusal is not None:
        raise errors.validation(refusal)


async def grant(ctx: Context, tokens: Tokens, config: SystemConfig, login: Login, method: str) -> None:
    """Issue the JWT and answer 201 with Kazoo's auth response fields."""
    account_doc, owner_id = login.account_doc, login.owner_id
    account_id = account_doc["_id"]
    ctx.auth_token = await tokens.issue(account_id, owner_id, method)
    master = await config.get("accounts", "master_account_id")
    data: dict = {"account_id": account_id}
    if owner_id:
        data["owner_id"] = owner_id
    data.update(
        apps=[],
        language=account_doc.get("language", "en-us"),
        account_name=account_doc.get("name"),
        reseller_id=account_doc.get("pvt_reseller_id"),
        is_reseller=account_doc.get("pvt_reseller") is True,
        is_master_account=account_id == master or account_doc.get("pvt_superduper_admin") is True,
    )
    ctx.resp_data = {k: v for k, v in data.items() if v is not None}
    ctx.status = 201
