"""Kazoo's number-manager rules for adding a number (kazoo_number_manager 4.3,
knm_number:create/2, knm_converters, knm_errors), as pure functions.

The job runner fetches and writes in batches; everything decided per number
lives here: E.164 normalisation, reconcilability, which existing states
block a number, the number document and the job's success entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..storage import names

# knm_converter_regex's ?DEFAULT_E164_CONVERTERS (system_config/number_manager.json ships the same)
DEFAULT_CONVERTERS = {
    r"^(\+?1)?([2-9][0-9]{2}[2-9][0-9]{6})$": {"prefix": "+1"},
    r"^011(\d{5,})$|^00(\d{5,})$": {"prefix": "+"},
    r"^[2-9]\d{7,}$": {"prefix": "+"},
}
DEFAULT_RECONCILE = r"^(\+?1)?\d{10}$|^\+[2-9]\d{7,}$|^011\d*$|^00\d*$"
# States an existing number may be in for create to take it (knm_number:ensure_can_load_to_create).
TAKEABLE_STATES = ("aging", "available", "port_in")
LOCAL, OTHER = "knm_local", "knm_other"
ADMIN_STATES = ("aging", "available", "in_service", "port_in", "reserved")
ALLOW_ADDITIONS_STATES = ("in_service", "reserved")
# Our own private field (not Kazoo's): the id of the job whose write produced the document.
JOB_ID = "pvt_job_id"


@dataclass(frozen=True)
class Rules:
    """number_manager settings, compiled once per job."""

    converters: tuple[tuple[re.Pattern, str, str], ...]
    reconcile: re.Pattern

    @classmethod
    def from_config(cls, converters: Any, reconcile: Any) -> Rules:
        conv = converters if isinstance(converters, dict) and converters else DEFAULT_CONVERTERS
        return cls(
            _compile_converters(
                tuple((k, v.get("prefix", ""), v.get("suffix", "")) for k, v in conv.items() if isinstance(v, dict))
            ),
            re.compile(reconcile if isinstance(reconcile, str) and reconcile else DEFAULT_RECONCILE),
        )


@lru_cache(maxsize=16)
def _compile_converters(items: tuple[tuple[str, str, str], ...]) -> tuple[tuple[re.Pattern, str, str], ...]:
    return tuple((re.compile(regex), prefix, suffix) for regex, prefix, suffix in items)


def normalize(entry: str, rules: Rules) -> str:
    """E.164 form (knm_converter_regex:to_e164/1): a number starting with `+` is kept as it
    is; otherwise the first converter that matches gives prefix + its last capture + suffix
    (Erlang's capture list: the whole match, then the groups up to the last one that took part)."""
    if entry.startswith("+"):
        return entry
    for regex, prefix, suffix in rules.converters:
        m = regex.search(entry)
        if m:
            captures = [m.group(0), *(g or "" for g in m.groups())]
            while len(captures) > 1 and m.group(len(captures) - 1) is None:
                captures.pop()
            return prefix + captures[-1] + suffix
    return entry


def is_reconcilable(e164: str, rules: Rules) -> bool:
    # knm_converters:is_reconcilable_by_regex/2 uses re:run/2, which searches: an operator's
    # regex without `^` matches anywhere in the number, as in Kazoo
    return rules.reconcile.search(e164) is not None


def error(code: int, name: str, message: str, cause: str | None = None) -> dict:
    """knm_errors' JSON: {code, error, cause?, message}."""
    out: dict[str, Any] = {"code": code, "error": name}
    if cause is not None:
        out["cause"] = cause
    out["message"] = message
    return out


def number_exists(e164: str, holder: str | None = None) -> dict:
    """knm_errors:number_exists/1; `holder` (ours, not Kazoo's): the account that holds the number,
    given only when every reader of the job may see that account (runner.visible_holder)."""
    out = error(409, "number_exists", f"number {e164} already exists", e164)
    if holder:
        out["assigned_to"] = holder
    return out


def forbidden(cause: str = "state_for_create") -> dict:
    return error(403, "forbidden", "requestor is unauthorized to perform operation", cause)


def invalid_state_transition(e164: str, from_state: str | None) -> dict:
    """knm_errors:invalid_state_transition/3 → to_json: the cause is the transition, the message fixed."""
    return error(
        400, "invalid_state_transition", "invalid state transition", f"from {from_state or '(nothing)'} to reserved"
    )


def can_add(auth_doc: dict | None) -> bool:
    """knm_number:state_for_create for `reserved`: super-duper admin or `pvt_wnm_allow_additions`."""
    if not auth_doc:
        return False
    return auth_doc.get("pvt_superduper_admin") is True or auth_doc.get("pvt_wnm_allow_additions") is True


def may_reserve_for(auth_doc: dict | None, account_doc: dict) -> bool:
    """The reserved transition: super-duper admin, or the account itself or one of its ancestors."""
    if not auth_doc:
        return False
    if auth_doc.get("pvt_superduper_admin") is True:
        return True
    return auth_doc["_id"] == account_doc["_id"] or auth_doc["_id"] in (account_doc.get("pvt_tree") or [])


def number_is_porting(e164: str) -> dict:
    return error(400, "number_is_porting", f"number {e164} is porting", e164)


def unauthorized() -> dict:
    """knm_errors:to_json(unauthorized) as `knm_phone_number:handle_fetch` throws it: no cause."""
    return error(403, "forbidden", "requestor is unauthorized to perform operation")


def may_fetch(stored: dict, auth_doc: dict | None, account_doc: dict, owner_doc: dict | None) -> bool:
    """knm_phone_number:handle_fetch: an existing number is visible to the requestor when it
    is `available`, or the requestor is a super-duper admin or the assigned account or one of
    its ancestors (`is_authorized`), or it is `reserved` by one of the requestor's ancestors
    (`is_reserved_from_parent`). `owner_doc` is the assigned account's document (None when
    unknown); a number assigned to nobody is judged against the account it goes to."""
    if stored.get("pvt_state") == "available" or (auth_doc or {}).get("pvt_superduper_admin") is True:
        return True
    if not auth_doc:
        return False
    auth_id, assigned = auth_doc["_id"], stored.get("pvt_assigned_to")
    if not assigned:
        return may_reserve_for(auth_doc, account_doc)
    if assigned == auth_id or auth_id in ((owner_doc or {}).get("pvt_tree") or []):
        return True
    return stored.get("pvt_state") == "reserved" and assigned in (auth_doc.get("pvt_tree") or [])


# Private fields knm_phone_number:from_json reads and to_json writes back unchanged when a
# number is taken over (the rest of a stored document's private fields are Kazoo's to drop).
KEPT_PRIVATE = (
    "pvt_carrier_data",
    "pvt_region",
    "pvt_features",
    "pvt_features_allowed",
    "pvt_features_denied",
    "pvt_previously_assigned_to",
)
# Public fields knm_phone_number:sanitize_public_fields removes.
DROPPED_PUBLIC = ("id", "used_by")


def public_fields(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith(("_", "pvt_")) and k not in DROPPED_PUBLIC}


def number_doc(
    e164: str,
    account_id: str,
    resource_id: str,
    module: str,
    now: int,
    existing: dict | None = None,
    carrier: dict | None = None,
    job_id: str | None = None,
) -> dict:
    """The number document written to the number DB and the account DB (spec §8.3).

    Taking over a stored (`available`) number keeps what `knm_phone_number:from_json` keeps:
    its public fields (the job sets only `resource_id`), carrier data, region and features;
    the account it was assigned to becomes `pvt_previously_assigned_to` (`set_assigned_to`).
    `job_id` (`pvt_job_id`) marks the document as written by that job: after a crash only
    the job whose own write it is may count the number as its success."""
    carrier, stored = carrier or {}, existing or {}
    history = list(stored.get("pvt_reserve_history") or [])
    if not history or history[0] != account_id:
        history.insert(0, account_id)
    doc: dict[str, Any] = {
        "_id": e164,
        **public_fields(stored),
        "resource_id": resource_id,
        **{k: stored[k] for k in KEPT_PRIVATE if stored.get(k)},
        "pvt_type": "number",
        "pvt_db_name": names.encode(names.numbers_db(e164)),
        "pvt_state": "reserved",
        "pvt_ported_in": bool(stored.get("pvt_ported_in", False)),
        "pvt_module_name": module,
        "pvt_created": stored.get("pvt_created", now),
        "pvt_modified": now,
        "pvt_assigned_to": account_id,
        "pvt_reserve_history": history,
    }
    previous = stored.get("pvt_assigned_to")
    if isinstance(previous, str) and previous and previous != account_id:
        doc["pvt_previously_assigned_to"] = previous
    features = dict(doc.get("pvt_features") or {})
    if module in (LOCAL, "knm_mdn"):
        features.setdefault("local", {})  # set_module_name_local: the stored `local` feature, else {}
    elif existing is not None and _stored_module(stored) != module:
        features.pop("local", None)  # knm_phone_number:set_module_name: another carrier drops `local`
    if carrier.get("locality"):
        features["locality"] = carrier["locality"]
    if features:
        doc["pvt_features"] = features
    else:
        doc.pop("pvt_features", None)
    if carrier.get("opaque"):
        doc["pvt_carrier_data"] = carrier["opaque"]
    if job_id:
        doc[JOB_ID] = job_id
    if stored.get("_rev"):
        doc["_rev"] = stored["_rev"]
    return doc


def _stored_module(stored: dict) -> str:
    """The carrier module knm_phone_number:from_json makes of a stored one (set_module_name/2:
    `wnm_*` is `knm_*`, `knm_bandwidth` is `knm_bandwidth2`, none or "undefined" is `knm_local`)."""
    module = stored.get("pvt_module_name")
    if not isinstance(module, str) or module in ("", "undefined"):
        return LOCAL
    if module.startswith("wnm_"):
        module = "knm_" + module[len("wnm_") :]
    return "knm_bandwidth2" if module == "knm_bandwidth" else module


def success_entry(doc: dict) -> dict:
    """knm_phone_number:to_public_json/1 of the saved number, as the job records it under
    `success.<E.164>`: the public fields, `state`, `features` (the sorted feature names, left out
    when none) and `_read_only` (no `id`: the E.164 number is the entry's key). `available` and
    `settings` are Kazoo's for a number whose reseller allows no provider features."""
    features = sorted((doc.get("pvt_features") or {}).keys())
    entry: dict[str, Any] = {**public_fields(doc), "state": doc["pvt_state"]}
    if features:
        entry["features"] = features
    read_only: dict[str, Any] = {
        "created": doc["pvt_created"],
        "modified": doc["pvt_modified"],
        "state": doc["pvt_state"],
        "features": {"available": [], "settings": {}},
    }
    module = doc.get("pvt_module_name")
    if isinstance(module, str) and module.startswith("knm_"):
        read_only["carrier_module"] = module[len("knm_") :]
    entry["_read_only"] = read_only
    return entry


def is_ours(existing: dict, account_id: str, resource_id: str, job_id: str) -> bool:
    """A stored number this very job wrote (used when resuming). Account and resource alone
    would also match a number another job (or a second run of the same numbers) reserved."""
    return (
        bool(job_id)
        and existing.get(JOB_ID) == job_id
        and existing.get("pvt_assigned_to") == account_id
        and existing.get("pvt_state") == "reserved"
        and existing.get("resource_id") == resource_id
        and not existing.get("pvt_deleted")
    )
