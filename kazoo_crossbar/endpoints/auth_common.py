"""What api_auth and user_auth share: the account checks at login and the
response Kazoo builds for a new token (crossbar_util:response_auth/3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..auth.tokens import Tokens
from ..http import errors
from ..http.context import Context
from ..http.endpoint import Endpoint, Route
from ..http.operations import OBJECT, Operation
from ..http.ratelimit import TokenBuckets
from ..storage import accounts as account_rules
from ..storage import login_extras
from ..storage.accounts import Accounts
from ..storage.login_info import FALLBACK_LANGUAGE, LoginInfo
from ..storage.system_config import SystemConfig


@dataclass(frozen=True)
class Login:
    """What validate found: the account (and user) a token is issued for."""

    account_doc: dict
    owner_id: str | None = None
    as_claim: Any = None  # the request's `as` (masquerade), put into the token as it came


class LoginEndpoint(Endpoint[Login]):
    """`PUT /v2/<noun>` that issues a token: no token needed, no arguments."""

    authenticates_itself = True
    # crossbar's per-endpoint token cost key (used when `token_costs` is not one integer)
    token_cost_key: ClassVar[str] = ""

    def __init__(
        self, accounts: Accounts, tokens: Tokens, config: SystemConfig, buckets: TokenBuckets, info: LoginInfo
    ):
        self.accounts, self.tokens, self.config, self.buckets, self.info = accounts, tokens, config, buckets, info

    async def spend_tokens(self, ctx: Context) -> None:
        """429 when the client's bucket is empty; first in validate, so every guess costs tokens."""
        await self.buckets.check(self.buckets.client_of(ctx.request), self.token_cost_key)


def login_routes(noun: str, summary: str) -> tuple[Route, ...]:
    """`PUT /v2/<noun>` with the request schema of that name: a token for a caller without one."""
    schema = {"$ref": f"#/components/schemas/{noun}"}
    return (Route((), {"PUT": Operation(noun, summary, "201", OBJECT, schema, public=True)}),)


def check_account_usable(doc: dict) -> None:
    """400 for an expired trial or a disabled account (cb_user_auth:maybe_account_is_expired)."""
    refusal = account_rules.unusable(doc)
    if refusal is not None:
        raise errors.validation(refusal)


async def grant(ctx: Context, tokens: Tokens, config: SystemConfig, info: LoginInfo, login: Login, method: str) -> None:
    """Issue the JWT and answer 201 with Kazoo's auth response fields (crossbar_util:populate_resp/3)."""
    account_doc, owner_id = login.account_doc, login.owner_id
    account_id = account_doc["_id"]
    ctx.auth_token = await tokens.issue(account_id, owner_id, method, login.as_claim)
    master = await config.get("accounts", "master_account_id")
    default_language = await config.setting("crossbar", "default_language")
    if not isinstance(default_language, str) or not default_language:
        default_language = FALLBACK_LANGUAGE
    language = await info.language(account_doc, owner_id, default_language)
    data: dict = {"account_id": account_id}
    if owner_id:
        data["owner_id"] = owner_id
    data.update(
        apps=await info.apps(master, language, default_language),
        language=language,
        account_name=account_doc.get("name"),
        cluster_id=await login_extras.cluster_id(config),
        reseller_id=await info.reseller_id(account_doc, master),
        is_reseller=await info.is_reseller(account_id, account_doc),
        is_master_account=is_master_account(account_id, account_doc, master),
        capabilities=await login_extras.capabilities(config),
        ui_config=await login_extras.ui_config(config),
    )
    ctx.resp_data = {k: v for k, v in data.items() if v is not None}
    ctx.status = 201


def is_master_account(account_id: str, account_doc: dict, master: object) -> bool:
    """crossbar_util:is_master_account/1: the configured master account only. Without one, Kazoo
    takes the oldest super-duper admin account (kapps_util:get_master_account_id/0); a super-duper
    admin is the closest we can say without reading every account."""
    if isinstance(master, str) and master:
        return account_id == master
    return account_doc.get("pvt_superduper_admin") is True
