"""Document helpers shared by every endpoint (crossbar_doc, kz_doc).

Private keys are top-level keys starting with `_` or `pvt_`; they are never
shown to clients and never taken from them.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from . import names

_NON_ALNUM = re.compile(r"[^a-z0-9]")


MAX_ID_LENGTH = 255


def valid_id(doc_id: Any) -> bool:
    # CouchDB reserves ids starting with `_`; Kazoo ids are short printable strings.
    # `.`/`..` would be path segments in the CouchDB URL: the server's root or the database info;
    # a `/` id could be stored but never addressed again as one path token of the API.
    return (
        isinstance(doc_id, str)
        and 0 < len(doc_id) <= MAX_ID_LENGTH
        and not doc_id.startswith("_")
        and doc_id.isprintable()
        and doc_id not in (".", "..")
        and "/" not in doc_id
    )


def is_live(doc: dict, pvt_type: str) -> bool:
    """A stored document that counts as existing: not soft-deleted, and of `pvt_type` (a
    document without one is taken to be of it, as crossbar_doc:load does)."""
    return not doc.get("pvt_deleted") and doc.get("pvt_type", pvt_type) == pvt_type


def new_id() -> str:
    return secrets.token_hex(16)


def is_private_key(key: str) -> bool:
    return key.startswith(("_", "pvt_"))


def public_fields(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not is_private_key(k)}


def private_fields(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if is_private_key(k)}


def to_public(doc: dict, **read_only: Any) -> dict:
    """A document as a response shows it: public fields, then `id` (and `_read_only` when given)."""
    out = public_fields(doc)
    out.pop("id", None)
    out["id"] = doc["_id"]
    if read_only:
        out["_read_only"] = read_only
    return out


def alphanum_name(name: Any) -> str:
    return _NON_ALNUM.sub("", str(name).lower())


@dataclass(frozen=True)
class Writer:
    """Who is saving: the facts crossbar_doc:update_pvt_parameters/2 stamps on a document."""

    request_id: str
    account_id: str | None = None  # the request's account (None for system databases)
    auth_account_id: str | None = None
    auth_user_id: str | None = None
    # a masquerading token's original_account_id / original_owner_id claims (crossbar_doc:add_pvt_auth)
    original_auth_account_id: str | None = None
    original_auth_owner_id: str | None = None


def update_pvt_parameters(doc: dict, db: str, writer: Writer, now: int | None = None) -> dict:
    now = now or names.gregorian_now()
    doc.setdefault("pvt_vsn", "1")
    if writer.account_id and "pvt_account_id" not in doc:
        doc["pvt_account_id"] = writer.account_id
    doc.setdefault("pvt_account_db", names.encode(db))
    if "_rev" not in doc:
        doc.setdefault("pvt_created", now)
    doc["pvt_modified"] = now
    doc["pvt_request_id"] = writer.request_id
    doc["pvt_is_authenticated"] = writer.auth_account_id is not None
    for key, value in (
        ("pvt_auth_account_id", writer.auth_account_id),
        ("pvt_auth_user_id", writer.auth_user_id),
        ("pvt_original_auth_account_id", writer.original_auth_account_id),
        ("pvt_original_auth_owner_id", writer.original_auth_owner_id),
    ):
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    if "name" in doc:
        doc["pvt_alphanum_name"] = alphanum_name(doc["name"])
    return doc


def system_pvt_fields(db: str, node: str) -> dict:
    """kz_doc:update_pvt_parameters/3 for system documents (config, keys)."""
    now = names.gregorian_now()
    return {
        "pvt_type": "config" if db == names.SYSTEM_CONFIG else "system_key",
        "pvt_account_id": db,
        "pvt_account_db": db,
        "pvt_created": now,
        "pvt_modified": now,
        "pvt_vsn": "1",
        "pvt_node": node,
    }


def document_hash(doc: dict) -> str:
    return hashlib.md5(json.dumps(public_fields(doc), sort_keys=True).encode()).hexdigest()


def deep_merge(base: dict, update: dict) -> dict:
    """Kazoo's kz_json:merge for PATCH-like updates: update wins, objects merge, null removes."""
    out = dict(base)
    for key, value in update.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and value and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
