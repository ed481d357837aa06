"""Creating accounts and users exactly as Kazoo writes them: the account doc in
its own database plus a copy in `accounts`, and a user with credential
hashes. Used by `setup` for the master account."""
from __future__ import annotations

import hashlib
import secrets

from . import names, views
from .couch import CouchClient
from .docs import document_hash, new_id
from .writes import Writes


def credentials(username: str, password: str) -> tuple[str, str]:
    """(md5, sha1) hex of `username:password`, usernames lower-cased (cb_user_auth)."""
    creds = f"{username.lower()}:{password}".encode()
    return hashlib.md5(creds).hexdigest(), hashlib.sha1(creds).hexdigest()


def account_doc(account_id: str, name: str, *, tree: list[str], superduper: bool, node: str) -> dict:
    now = names.gregorian_now()
    doc = {
        "_id": account_id,
        "name": name,
        "realm": f"{secrets.token_hex(3)}.sip.{names.alphanum_realm(name)}",
        "enabled": True,
        "language": "en-us",
        "pvt_type": "account",
        "pvt_vsn": "1",
        "pvt_account_id": account_id,
        "pvt_account_db": names.encode(names.account_db(account_id)),
        "pvt_tree": tree,
        "pvt_api_key": secrets.token_hex(32),
        "pvt_enabled": True,
        "pvt_wnm_allow_additions": superduper,
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


async def create_account(couch: CouchClient, name: str, *, parent: dict | None = None,
                         superduper: bool = False, node: str = "kazoo_crossbar") -> dict:
    account_id = new_id()
    tree = [*parent.get("pvt_tree", []), parent["_id"]] if parent else []
    doc = account_doc(account_id, name, tree=tree, superduper=superduper, node=node)
    db = names.account_db(account_id)
    await views.ensure_db(couch, db)
    writes = Writes(couch, node=node)  # setup runs without a bus: nothing to publish to
    await writes.save(db, doc)
    copy = {k: v for k, v in doc.items() if k != "_rev"}
    await writes.save(names.ACCOUNTS, copy)
    return doc


async def create_user(couch: CouchClient, account: dict, username: str, password: str,
                      *, priv_level: str = "admin") -> dict:
    md5, sha1 = credentials(username, password)
    now = names.gregorian_now()
    user = {
        "_id": new_id(),
        "username": username.lower(),
        "first_name": username,
        "last_name": "Admin" if priv_level == "admin" else "User",
        "priv_level": priv_level,
        "enabled": True,
        "pvt_type": "user",
        "pvt_vsn": "1",
        "pvt_account_id": account["_id"],
        "pvt_account_db": account["pvt_account_db"],
        "pvt_md5_auth": md5,
        "pvt_sha1_auth": sha1,
        "pvt_created": now,
        "pvt_modified": now,
    }
    await Writes(couch).save(names.account_db(account["_id"]), user)
    return user
