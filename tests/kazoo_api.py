"""Kazoo 4.3's checks of a bus message, as a Kazoo node applies them before it acts on one.

Read from `core/kazoo_amqp`: `kz_api:default_headers_v/1` and `kz_api:validate/4`
(`has_all(DEFAULT_HEADERS)`, then the kind's required headers, `*_VALUES` and `*_TYPES`),
`kapi_conf:doc_update_v/1` (document and database changes on `configuration`),
`kapi_switch:reload_acls_v/1` / `reload_gateways_v/1` (on `switch`) and
`kapi_delegate:delegate_v/1` with what `cb_jobs_listener:handle_job/2` reads of it (on `kapps`).
A message failing these is dropped by Kazoo (`kz_cache_listener` logs "invalid payload" and
flushes nothing), so every message the service publishes must pass.

Stricter than Kazoo in two places, both on the safe side: a header whose value is JSON
`null` counts as missing (jiffy would hand Erlang the atom `null`, which `props:is_defined`
takes as present but no Kazoo code can use), and `?DEFAULT_TYPES` (binaries) are checked too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# kz_api.hrl
DEFAULT_HEADERS = ("App-Name", "App-Version", "Event-Category", "Event-Name", "Msg-ID")
DEFAULT_BINARY_TYPES = (
    "Server-ID",
    "Event-Category",
    "Event-Name",
    "App-Name",
    "App-Version",
    "Raw-Headers",
    "Destination-Server",
    "Geo-Location",
    "Access-Group",
    "Tenant-ID",
    "Msg-ID",
    "AMQP-Broker",
    "AMQP-Zone",
)
# kapi_conf.erl
DOC_UPDATE_HEADERS = ("ID", "Database")
DOC_UPDATE_VALUES = {
    "Event-Category": ("configuration",),
    "Event-Name": (
        "doc_edited",
        "doc_created",
        "doc_deleted",
        "db_edited",
        "db_created",
        "db_deleted",
        "db_views_updated",
    ),
}


def _is_binary(value: Any) -> bool:
    return isinstance(value, str)


def _is_boolean(value: Any) -> bool:
    # kz_term:is_boolean/1: true, false, <<"true">>, <<"false">>
    return isinstance(value, bool) or value in ("true", "false")


DOC_UPDATE_TYPES: dict[str, Callable[[Any], bool]] = {
    "ID": _is_binary,
    "Rev": _is_binary,
    "Is-Soft-Deleted": _is_boolean,
}


def is_empty(value: Any) -> bool:
    """kz_term:is_empty/1 for the values a JSON payload can hold."""
    return value is None or (value in ("", "0", "NULL", "undefined", 0, [], {}) and not isinstance(value, bool))


def default_headers_v(payload: dict) -> list[str]:
    """kz_api:default_headers_v/1: every default header present and not empty."""
    return [f"default header {h} missing or empty" for h in DEFAULT_HEADERS if is_empty(payload.get(h))]


def validate(
    payload: dict,
    required: tuple[str, ...],
    values: dict[str, tuple[Any, ...]],
    types: dict[str, Callable[[Any], bool]],
) -> list[str]:
    """kz_api:validate/4: has_all(DEFAULT_HEADERS), has_all(required), values_check, type_check."""
    problems = [f"header {h} missing" for h in (*DEFAULT_HEADERS, *required) if payload.get(h) is None]
    for key, allowed in values.items():
        if key in payload and payload[key] not in allowed:
            problems.append(f"{key} is {payload[key]!r}, not one of {list(allowed)}")
    for key, check in types.items():
        if payload.get(key) is not None and not check(payload[key]):
            problems.append(f"{key} is {payload[key]!r}: wrong type")
    for key in DEFAULT_BINARY_TYPES:
        if payload.get(key) is not None and not _is_binary(payload[key]):
            problems.append(f"{key} is {payload[key]!r}: not a binary")
    if payload.get("Node") is not None and not _is_binary(payload["Node"]):
        problems.append("Node is not a binary")
    return problems


def doc_update_v(payload: dict) -> list[str]:
    return validate(payload, DOC_UPDATE_HEADERS, DOC_UPDATE_VALUES, DOC_UPDATE_TYPES)


def reload_v(what: str) -> Callable[[dict], list[str]]:
    """kapi_switch:reload_acls_v/1 and reload_gateways_v/1."""

    def check(payload: dict) -> list[str]:
        return validate(payload, (), {"Event-Name": (what,), "Event-Category": ("switch_event",)}, {})

    return check


def delegate_v(payload: dict) -> list[str]:
    """kapi_delegate:delegate_v/1, plus the `Account-ID`/`Job-ID` cb_jobs_listener:handle_job reads."""
    problems = validate(payload, ("Delegate-Message",), {"Event-Category": ("delegate",), "Event-Name": ("job",)}, {})
    work = payload.get("Delegate-Message")
    if not (isinstance(work, dict) and _is_binary(work.get("Account-ID")) and _is_binary(work.get("Job-ID"))):
        problems.append("Delegate-Message lacks Account-ID / Job-ID")
    return problems


def _routing_key_problems(routing_key: str, payload: dict) -> list[str]:
    """kz_amqp_util:document_routing_key/4: `<event>.<db>.<type>.<id>`, the event the payload names."""
    parts = routing_key.split(".")
    if len(parts) != 4:
        return [f"routing key {routing_key!r} is not <event>.<db>.<type>.<id>"]
    event, db, doc_type, _ = parts
    problems = []
    if event != payload.get("Event-Name"):
        problems.append(f"routing key event {event!r} differs from Event-Name {payload.get('Event-Name')!r}")
    if db != payload.get("Database"):
        problems.append(f"routing key database {db!r} differs from Database {payload.get('Database')!r}")
    if event.startswith("db_") and doc_type != "database":
        problems.append("a database event's routing key type must be `database`")
    return problems


def check_message(exchange: str, routing_key: str, payload: Any) -> list[str]:
    """Every problem a Kazoo node finds with one published message ([] when it accepts it)."""
    if not isinstance(payload, dict):
        return ["the payload is not a JSON object"]
    problems = default_headers_v(payload)
    if exchange == "configuration" and routing_key.startswith(("doc_", "db_")):
        problems += doc_update_v(payload) + _routing_key_problems(routing_key, payload)
    elif exchange == "switch" and routing_key in ("switch.reload_acls", "switch.reload_gateways"):
        problems += reload_v(routing_key.split(".", 1)[1])(payload)
    elif exchange == "kapps" and routing_key.startswith("delegate."):
        problems += delegate_v(payload)
    else:
        problems.append(f"no Kazoo validator for {exchange} {routing_key!r}: add one before publishing it")
    return sorted(set(problems), key=problems.index)
