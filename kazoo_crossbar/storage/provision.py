"""Creating accounts and users exactly as Kazoo writes them: the account doc in
its own database plus a copy in `accounts`, and a user with credential
hashes. Used by `setup` for the master account and by `kazoo-crossbar accounts`.

Every write goes through the `Writes` the caller gives (its bus publishes the change events,
`db_created` for the new account database included); reads take the client."""

from __future__ import annotations

import hashlib
import secrets

from . import names, views
from .couch import Conflict, CouchClient, NotFound
from .docs import alphanum_name, document_hash, new_id
from .writes import Writes


class AccountError(ValueError):
    """An account request that cannot be done (unknown parent, realm taken, ...)."""


def credentials(username: str, password: str) -> tuple[str, str]:
    """(md5, sha1) hex of `username:password`, usernames lower-cased (cb_user_auth)."""
    creds = f"{username.lower()}:{password}".encode()
    return hashlib.md5(creds).hexdigest(), hashlib.sha1(creds).hexdigest()


def account_doc(
    account_id: str,
    name: str,
    *,
    tree: list[str],
    superduper: bool,
    node: str,
    realm: str | None = None,
    allow_additions: bool | None = None,
) -> dict:
    now = names.gregorian_now()
    doc = {
        "_id": account_id,
        "name": name,
        "realm": realm or f"{secrets.token_hex(3)}.sip.{names.alphanum_realm(name)}",
        "enabled": True,
        "language": "en-us",
        "pvt_type": "account",
        "pvt_vsn": "1",
        "pvt_account_id": account_id,
        "pvt_account_db": names.encode(names.account_db(account_id)),
        "pvt_tree": tree,
        "pvt_api_key": secrets.token_hex(32),
        "pvt_enabled": True,
        "pvt_wnm_allow_additions": superduper if allow_additions is None else allow_additions,
        "pvt_superduper_admin": superduper,
        "pvt_reseller": superduper,
        "pvt_created": now,
        "pvt_modified": now,
        "pvt_node": node,
    }
    if superduper:
        doc["pvt_reseller_id"] = account_id
    doc["pvt_document_hash"] = document_hash(doc)
    return doc


async def realm_taken(couch: CouchClient, realm: str) -> bool:
    """Realms are unique across accounts (cb_accounts validate_realm_is_unique)."""
    res = await views.query(couch, names.ACCOUNTS, "accounts", "listing_by_realm", key=realm.lower())
    return bool(res["rows"])


async def create_account(
    writes: Writes,
    name: str,
    *,
    parent: dict | None = None,
    superduper: bool = False,
    realm: str | None = None,
    allow_additions: bool | None = None,
) -> dict:
    if realm and await realm_taken(writes.couch, realm):
        raise AccountError(f"realm {realm} is already used by another account")
    account_id = new_id()
    tree = [*parent.get("pvt_tree", []), parent["_id"]] if parent else []
    doc = account_doc(
        account_id,
        name,
        tree=tree,
        superduper=superduper,
        node=writes.node,
        realm=realm,
        allow_additions=allow_additions,
    )
    db = names.account_db(account_id)
    await writes.create_db(db)
    await writes.save(db, doc)
    copy = {k: v for k, v in doc.items() if k != "_rev"}
    await writes.save(names.ACCOUNTS, copy)
    return doc


# What cb_users_v2's PUT stores beyond the request: the `users` schema's defaults (kz_json_schema
# with use_defaults and apply_defaults_to_empty_objects, so `hotdesk` gets its own defaults).
USER_SCHEMA_DEFAULTS = {
    "call_restriction": {},
    "contact_list": {},
    "enabled": True,
    "hotdesk": {"enabled": False, "keep_logged_in_elsewhere": False, "require_pin": False},
    "music_on_hold": {},
    "priv_level": "user",
    "require_password_update": False,
    "ringtones": {},
    "verified": False,
    "vm_to_email_enabled": True,
}


def user_doc(
    account: dict,
    username: str,
    password: str,
    *,
    priv_level: str = "user",
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
) -> dict:
    """A user as Kazoo 4.3 stores one created through `PUT /v2/accounts/{A}/users` (kzd_users:validate:
    the username lower-cased, pvt_md5_auth/pvt_sha1_auth of `username:password` and the password
    dropped, a new pvt_signature_secret, the schema's defaults; crossbar_doc's private fields)."""
    username = username.lower()
    md5, sha1 = credentials(username, password)
    now = names.gregorian_now()
    first, last = first_name or username, last_name or ("Admin" if priv_level == "admin" else "User")
    doc = {
        "_id": new_id(),
        **USER_SCHEMA_DEFAULTS,
        "username": username,
        "first_name": first,
        "last_name": last,
        "priv_level": priv_level,
        **({"email": email} if email else {}),
        "pvt_type": "user",
        "pvt_vsn": "1",
        "pvt_account_id": account["_id"],
        "pvt_account_db": account["pvt_account_db"],
        "pvt_md5_auth": md5,
        "pvt_sha1_auth": sha1,
        "pvt_signature_secret": secrets.token_hex(16),  # kz_auth_identity:reset_doc_secret
        "pvt_alphanum_name": alphanum_name(first + last),  # crossbar_doc:add_pvt_alphanum_name
        "pvt_created": now,
        "pvt_modified": now,
    }
    doc["pvt_document_hash"] = document_hash(doc)
    return doc


async def find_user(couch: CouchClient, account_id: str, username: str) -> dict | None:
    """The account's user with this username (unique per account, compared lower-case)."""
    res = await views.query(
        couch, names.account_db(account_id), "users", "list_by_username", key=username.lower(), include_docs=True
    )
    return res["rows"][0]["doc"] if res["rows"] else None


async def create_user(
    writes: Writes,
    account: dict,
    username: str,
    password: str,
    *,
    priv_level: str = "admin",
    **fields: str | None,
) -> dict:
    """Save a new user through the write path (which publishes doc_created with a broker)."""
    if await find_user(writes.couch, account["_id"], username) is not None:
        raise AccountError(f"user {username.lower()} already exists in account {account['_id']} (usernames are unique)")
    user = user_doc(account, username, password, priv_level=priv_level, **fields)
    await writes.save(names.account_db(account["_id"]), user)
    return user


async def get_account(couch: CouchClient, account_id: str) -> dict:
    """The account doc from its own database (the authority), or AccountError."""
    if not names.is_account_id(account_id):
        raise AccountError(f"{account_id!r} is not an account id (32 hex characters)")
    try:
        doc = await couch.get_doc(names.account_db(account_id), account_id)
    except NotFound:
        doc = None
    if doc is None or doc.get("pvt_deleted"):
        raise AccountError(f"account {account_id} does not exist")
    return doc


async def list_accounts(couch: CouchClient, parent_id: str | None = None) -> list[dict]:
    """The copies in `accounts` (what Kazoo lists from), optionally only a parent's direct children."""
    res = await views.query(couch, names.ACCOUNTS, "accounts", "listing_by_id", include_docs=True)
    docs = [row["doc"] for row in res["rows"] if row.get("doc")]
    if parent_id is not None:
        docs = [d for d in docs if (d.get("pvt_tree") or [None])[-1] == parent_id]
    return sorted(docs, key=lambda d: (d.get("pvt_created", 0), d["_id"]))


async def _set_fields(writes: Writes, db: str, account_id: str, fields: dict, fallback: dict) -> dict:
    def change(stored: dict | None) -> dict:
        # Kazoo may write the same doc meanwhile (the write path re-reads on a conflict);
        # a missing `accounts` copy is written from the account doc.
        doc = stored if stored is not None else {k: v for k, v in fallback.items() if k != "_rev"}
        return {**doc, **fields}

    try:
        doc = await writes.update(db, account_id, change)
    except Conflict:
        raise AccountError(f"account {account_id} in {db} kept changing; try again") from None
    assert doc is not None
    return doc


async def update_account(writes: Writes, account_id: str, **pvt: object) -> dict:
    """Set private fields (pvt_enabled, pvt_wnm_allow_additions) on the account doc and its
    `accounts` copy, as Kazoo's maintenance functions do; returns the account doc. Each save
    publishes `doc_edited`, so Kazoo nodes drop the cached account."""
    doc = await get_account(writes.couch, account_id)
    fields = {**pvt, "pvt_modified": names.gregorian_now(), "pvt_node": writes.node}
    doc = await _set_fields(writes, names.account_db(account_id), account_id, fields, doc)
    await _set_fields(writes, names.ACCOUNTS, account_id, fields, doc)
    return doc
