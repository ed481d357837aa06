"""/v2/accounts/{A}, …/children, …/descendants: read-only (cb_accounts, GET only).

  [A]                 GET the account document with 4.3's leaked private fields
  [A, children]       GET `accounts/listing_by_children` rows [A, name] (one level down)
  [A, descendants]    GET `accounts/listing_by_descendants` rows [A, name] (the whole subtree)

Who may read is the generic rule (cb_simple_authz): the token's own account, its descendants,
or anything for a super-duper admin. Creating, editing and moving accounts stay with Kazoo or
the `accounts` command (docs/decisions.md)."""

from __future__ import annotations

from typing import Any

from ..http import errors, listing, startkey
from ..http.context import Context
from ..http.endpoint import Endpoint, Mount, Route
from ..http.operations import ACCOUNT_ID, OBJECT, ROWS, Operation, query_params
from ..storage import accounts as account_rules
from ..storage import docs, names, paging
from ..storage.couch import CouchClient
from ..storage.system_config import SystemConfig

LISTINGS = {"children": "listing_by_children", "descendants": "listing_by_descendants"}
LISTING_PARAMS = query_params("page_size", "start_key", "paginate")


def leaked_fields(doc: dict, auth_account_id: str | None, master_id: str | None) -> dict:
    """cb_accounts:leak_pvt_fields/3 on a stored account: the response shape of GET /accounts/{A}.

    Resellers live in Kazoo's services documents, which this service does not keep: the
    account's own `pvt_reseller_id` (else the master account) stands for the reseller."""
    out = docs.to_public(doc)
    reseller_id = doc.get("pvt_reseller_id") or master_id
    if reseller_id == auth_account_id:
        billing_mode = "limits_only"
    elif reseller_id == master_id:
        billing_mode = "normal"
    else:
        billing_mode = "manual"
    out.update(
        wnm_allow_additions=doc.get("pvt_wnm_allow_additions") is True,
        superduper_admin=account_rules.is_superduper_admin(doc),
        created=doc.get("pvt_created"),
        enabled=account_rules.is_enabled(doc),
        reseller_id=reseller_id,
        is_reseller=doc.get("pvt_reseller") is True,
        billing_mode=billing_mode,
    )
    if doc.get("pvt_notification_preference") is not None:
        out["notification_preference"] = doc["pvt_notification_preference"]
    out.pop("trial_time_left", None)
    return out


class AccountsEndpoint(Endpoint[None]):
    """The `accounts` noun, GET only (storage/accounts.py `Accounts` is what every part reads accounts with)."""

    nouns = ("accounts",)
    routes = (
        Route((), {"GET": Operation("get_account", "Fetch an account", "200", OBJECT)}),
        Route(
            ("children",),
            {"GET": Operation("list_account_children", "The account's children", "200", ROWS, query=LISTING_PARAMS)},
        ),
        Route(
            ("descendants",),
            {
                "GET": Operation(
                    "list_account_descendants",
                    "The account's descendants (whole subtree)",
                    "200",
                    ROWS,
                    query=LISTING_PARAMS,
                )
            },
        ),
    )
    mounts = (Mount("/v2/accounts/{account_id}", params=(ACCOUNT_ID,)),)

    def __init__(self, couch: CouchClient, config: SystemConfig):
        self.couch, self.config = couch, config

    def allowed_methods(self, ctx: Context, args: list[str]) -> frozenset[str]:
        if ctx.account_id is None or len(ctx.nouns) != 1:
            return frozenset()  # PUT /accounts (create) is not served here
        return super().allowed_methods(ctx, args)

    async def validate(self, ctx: Context, args: list[str]) -> None:
        account_id = ctx.account_id or ""
        if not args:
            doc = ctx.account_doc
            if doc is None or doc.get("pvt_type") != "account":
                raise errors.bad_identifier(account_id)
            master_id = await self.config.get("accounts", "master_account_id")
            ctx.resp_data, ctx.revision = leaked_fields(doc, ctx.auth_account_id, master_id), doc.get("_rev")
            return
        await self._listing(ctx, account_id, LISTINGS[args[0]])

    async def _listing(self, ctx: Context, account_id: str, view: str) -> None:
        """Kazoo's load_paginated_children/descendants: keys [A, name] from [A, start_key] on,
        ascending by name; start_key and next_start_key carry the name only (fix_envelope)."""
        size = await listing.page_size(ctx, self.config)
        requested = listing.request_start_key(ctx)
        first = [account_id, requested if requested is not None else ""]
        listing.check_range(first, [account_id, {}], descending=False)
        filters = listing.filters_of(ctx.query)
        keep = (lambda doc: listing.matches(doc, filters)) if filters else None
        items, next_key = await paging.page(
            self.couch,
            [names.ACCOUNTS],
            "accounts",
            view,
            first=first,
            end=[account_id, {}],
            descending=False,
            size=size,
            keep=keep,
            mapper=lambda row: row["value"],
            skip_missing_dbs=False,
        )
        ctx.resp_data = items
        if size is not None:
            envelope: dict[str, Any] = {"page_size": len(items)}
            if next_key is not None:
                envelope["next_start_key"] = startkey.encode(_name_of(next_key))
            if requested is not None:
                envelope["start_key"] = startkey.encode(requested)
            ctx.resp_envelope = envelope


def _name_of(key: Any) -> Any:
    """fix_start_key: the view key [A, name] is shown as its name."""
    return key[1] if isinstance(key, list) and len(key) == 2 else key
