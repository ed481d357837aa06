"""Accounts as Kazoo keeps them: the account doc in its own database (the
authority for `pvt_tree` and `pvt_superduper_admin`), a copy in `accounts`,
and the `accounts/listing_by_*` views used to log in."""

from __future__ import annotations

from typing import Any

from . import names, views
from .cache import TTLCache
from .couch import CouchClient, NotFound


class Accounts:
    def __init__(self, couch: CouchClient, ttl_s: float = 5.0):
        self.couch = couch
        self._cache: TTLCache[dict] = TTLCache(ttl_s)
        self._copies: TTLCache[dict] = TTLCache(ttl_s)  # the `accounts` database's copies

    async def get(self, account_id: str) -> dict | None:
        """The account document from the account's own database, or None."""
        if not names.is_account_id(account_id):
            return None
        return await self._cache.get_or_load(account_id, lambda: self._read(account_id))

    async def _read(self, account_id: str) -> dict | None:
        try:
            doc = await self.couch.get_doc(names.account_db(account_id), account_id)
        except NotFound:
            return None
        return None if doc.get("pvt_deleted") else doc

    def forget(self, account_id: str) -> None:
        self._cache.drop(account_id)
        self._copies.drop(account_id)

    async def is_descendant(self, ancestor_id: str, account_id: Any) -> bool:
        """kapps_util:account_descendants(ancestor_id) holds account_id. Its rows
        (`accounts/listing_by_descendants` from [ancestor] to [ancestor, {}]) are the account
        documents of the `accounts` database, not deleted, whose `pvt_tree` names the ancestor
        (the account itself is never among them); reading that one copy answers the same."""
        if not (isinstance(account_id, str) and names.is_account_id(account_id)):
            return False
        copy = await self._copies.get_or_load(account_id, lambda: self._read_copy(account_id))
        if not copy or copy.get("pvt_type") != "account" or copy.get("pvt_deleted"):
            return False
        tree = copy.get("pvt_tree")
        return isinstance(tree, list) and ancestor_id in tree

    async def _read_copy(self, account_id: str) -> dict | None:
        try:
            return await self.couch.get_doc(names.ACCOUNTS, account_id)
        except NotFound:
            return None

    async def by_view(self, view: str, key: Any) -> list[str]:
        """Account ids from an `accounts/listing_by_*` view row key."""
        res = await views.query(self.couch, names.ACCOUNTS, "accounts", view, key=key)
        return [row["id"] for row in res["rows"]]

    async def user_by_credentials(self, account_id: str, credentials: str, method: str) -> dict | None:
        """`users/creds_by_md5|sha` row value `{owner_id, account_id}` for these credentials."""
        view = "creds_by_sha" if method == "sha" else "creds_by_md5"
        try:
            res = await views.query(self.couch, names.account_db(account_id), "users", view, key=credentials)
        except NotFound:
            return None
        rows = res["rows"]
        return rows[0]["value"] if rows else None


def is_enabled(doc: dict) -> bool:
    return doc.get("enabled") is not False and doc.get("pvt_enabled") is not False


def trial_expired(doc: dict, now: int | None = None) -> int | None:
    """kzd_accounts:is_expired/1: `pvt_trial_expires` (gregorian s) reached → that time, else None."""
    expires = doc.get("pvt_trial_expires")
    if isinstance(expires, str) and expires.strip().lstrip("-").isdigit():
        expires = int(expires)  # kz_json:get_integer_value takes "123" too
    if not isinstance(expires, int) or isinstance(expires, bool):
        return None
    return expires if expires - (now or names.gregorian_now()) <= 0 else None


def unusable(doc: dict) -> dict | None:
    """cb_user_auth:maybe_account_is_expired → maybe_account_is_enabled: the validation error
    (`{"account":{"expired"|"disabled":…}}`) for an account that may not be used, else None."""
    expired = trial_expired(doc)
    if expired is not None:
        return {"account": {"expired": {"message": "account expired", "cause": expired}}}
    if not is_enabled(doc):
        return {"account": {"disabled": {"message": "account disabled"}}}
    return None


def is_superduper_admin(doc: dict | None) -> bool:
    return bool(doc and doc.get("pvt_superduper_admin") is True)


def is_ancestor_or_self(ancestor_id: str, doc: dict) -> bool:
    """True when ancestor_id is the account itself or in its `pvt_tree`."""
    return doc.get("_id") == ancestor_id or ancestor_id in (doc.get("pvt_tree") or [])
