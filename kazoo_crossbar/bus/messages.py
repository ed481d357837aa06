"""Kazoo's bus messages, as pure functions (kzs_publish, kapi_conf, kapi_switch,
kapi_delegate, kz_amqp_util). Exchange names, routing keys and payload
fields are Kazoo 4.3's; `Date-Created`/`Date-Modified` are not swapped (a
deliberate difference, see docs/decisions.md).

Every message carries Kazoo's default headers (kz_api.hrl `DEFAULT_HEADERS`: `App-Name`,
`App-Version`, `Event-Category`, `Event-Name`, `Msg-ID`, plus `Node`): a Kazoo listener
validates them (`kz_api:validate`) and drops a message without them. `Msg-ID` is the
caller's, or a fresh one as `kz_api:prepare_api_payload` makes (`kz_binary:rand_hex(16)`)."""

from __future__ import annotations

import secrets
from typing import Any

from ..storage import names

APP_VERSION = "4.0.0"
CONFIGURATION, SWITCH, KAPPS = "configuration", "switch", "kapps"
EXCHANGES = (CONFIGURATION, SWITCH, KAPPS)  # all topic exchanges, declared as Kazoo does
JOBS_QUEUE = "resource_jobs_listener"
JOBS_ROUTING_KEY = "delegate.cb_jobs_listener"
# kz_amqp_util:queue_arguments/1 defaults, added to every queue Kazoo declares unless told otherwise
QUEUE_MAX_LENGTH, QUEUE_MESSAGE_TTL_MS = 100, 60_000
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-~_")


def amqp_encode(value: str) -> str:
    """kz_amqp_util:encode/1: routing-key safe bytes kept, space → `+`, `.` → `%2E`, others %XX."""
    if value in ("*", "#"):
        return value
    out = []
    for byte in value.encode("utf-8"):
        if byte in _SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def queue_arguments(overrides: dict[str, int | None] | None = None) -> dict[str, int]:
    """kz_amqp_util:queue_arguments/1: `x-max-length` 100 and `x-message-ttl` 60000 unless given;
    None plays Kazoo's `infinity` (the argument is left out). RabbitMQ refuses a second
    declaration whose arguments differ, so every queue we share with Kazoo must carry these."""
    args: dict[str, int | None] = {"x-max-length": QUEUE_MAX_LENGTH, "x-message-ttl": QUEUE_MESSAGE_TTL_MS}
    args.update(overrides or {})
    return {k: v for k, v in args.items() if v is not None}


def doc_action(doc: dict, *, created: bool, hard_deleted: bool = False) -> str:
    """kzs_publish:publish_doc: deleted (soft or hard), created when the document given to the
    save had no revision, else edited. A hard-deleted id saved again is created (its new
    revision does not start with `1-`)."""
    if hard_deleted or doc.get("pvt_deleted") is True:
        return "deleted"
    return "created" if created else "edited"


def doc_change(
    db: str,
    doc: dict,
    rev: str,
    node: str,
    *,
    created: bool,
    hard_deleted: bool = False,
    msg_id: str | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """(routing key, payload) for a document write; None for design docs (never published)."""
    doc_id = doc["_id"]
    if doc_id.startswith("_design/"):
        return None
    action = doc_action(doc, created=created, hard_deleted=hard_deleted)
    db_name = names.encode(db)
    doc_type = str(doc.get("pvt_type", "undefined"))
    key = f"doc_{action}.{db_name}.{doc_type}.{amqp_encode(doc_id)}"
    account_id = doc.get("pvt_account_id")
    if not names.is_account_id(account_id):
        account_id = names.account_id(names.decode(db)) if names.classify(db) in ("account", "modb") else None
    payload: dict[str, Any] = {
        "ID": doc_id,
        "Origin-Cache": "kazoo_data_cache",
        "Type": doc_type,
        "Database": db_name,
        "Rev": rev,
    }
    if account_id:
        payload["Account-ID"] = account_id
    if "pvt_created" in doc:
        payload["Date-Created"] = doc["pvt_created"]
    if "pvt_modified" in doc:
        payload["Date-Modified"] = doc["pvt_modified"]
    payload["Is-Soft-Deleted"] = doc.get("pvt_deleted") is True
    payload.update(_default_headers("configuration", f"doc_{action}", "datamgr", APP_VERSION, node, msg_id))
    return key, payload


def db_change(db: str, action: str, node: str, msg_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """kzs_publish:do_publish_db: `db_<action>.<db>.database.<db>` (kapi_conf:publish_db_update),
    the database name in Kazoo's encoded form, as kz_datamgr:db_create is given it."""
    assert action in ("created", "deleted")
    db_name = names.encode(db)
    payload: dict[str, Any] = {"Type": "database", "ID": db_name, "Database": db_name}
    payload.update(_default_headers("configuration", f"db_{action}", "datamgr", "1.0.0", node, msg_id))
    return f"db_{action}.{db_name}.database.{amqp_encode(db_name)}", payload


def switch_reload(what: str, node: str) -> tuple[str, dict[str, Any]]:
    """switch.reload_acls / switch.reload_gateways for ecallmgr (kapi_switch)."""
    assert what in ("reload_acls", "reload_gateways")
    return f"switch.{what}", _default_headers("switch_event", what, "switch_event", "kapi_switch", node, None)


def delegate_job(account_id: str, job_id: str, node: str, msg_id: str | None) -> tuple[str, dict[str, Any]]:
    """The job hand-over message cb_jobs_listener consumes (kapi_delegate); `Msg-ID` is the
    request id of the job's creation (cb_jobs_listener:publish_new_job), when known."""
    payload = {"Delegate-Message": {"Account-ID": account_id, "Job-ID": job_id}}
    payload.update(_default_headers("delegate", "job", "crossbar", APP_VERSION, node, msg_id))
    return JOBS_ROUTING_KEY, payload


def new_msg_id() -> str:
    """kz_binary:rand_hex(16): 32 hex digits."""
    return secrets.token_hex(16)


def _default_headers(category: str, name: str, app: str, version: str, node: str, msg_id: str | None) -> dict:
    """kz_api:default_headers/5 and the `Msg-ID` of `?DEFAULT_VALUES` (never left out)."""
    return {
        "Event-Category": category,
        "Event-Name": name,
        "App-Name": app,
        "App-Version": version,
        "Node": node,
        "Msg-ID": msg_id if isinstance(msg_id, str) and msg_id else new_msg_id(),
    }
