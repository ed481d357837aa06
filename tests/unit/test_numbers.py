"""kazoo_number_manager's rules as pure functions (jobs/numbers.py) and the job runner's
per-number decision (jobs/runner.decide), without CouchDB."""

from __future__ import annotations

import pytest

from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.jobs.runner import Folding, Plan, decide

RULES = knm.Rules.from_config(None, None)
ACCOUNT, PARENT, OTHER = "a" * 32, "b" * 32, "c" * 32


@pytest.mark.parametrize(
    "entry, e164",
    [
        ("4158867900", "+14158867900"),
        ("14158867900", "+14158867900"),
        ("+14158867900", "+14158867900"),
        ("011442079460000", "+442079460000"),
        ("00442079460000", "+442079460000"),
        ("442079460000", "+442079460000"),
        ("+4420", "+4420"),
        ("12", "12"),
    ],
)
def test_normalize_with_kazoo_default_converters(entry, e164):
    assert knm.normalize(entry, RULES) == e164


def test_custom_converters_and_reconcile_regex():
    rules = knm.Rules.from_config({r"^(\d{4})$": {"prefix": "+9999", "suffix": "0"}}, r"^\+9999\d{5}$")
    assert knm.normalize("1234", rules) == "+999912340"
    assert knm.is_reconcilable("+999912340", rules)
    assert not knm.is_reconcilable("+14158867900", rules)
    # re:run searches: an unanchored reconcile_regex matches inside the number
    unanchored = knm.Rules.from_config({}, r"\d{10}$")
    assert knm.is_reconcilable("+14158867900", unanchored)
    # bad settings fall back to Kazoo's defaults
    fallback = knm.Rules.from_config("nonsense", 7)
    assert knm.normalize("4158867900", fallback) == "+14158867900"


@pytest.mark.parametrize(
    "e164, ok",
    [("+14158867900", True), ("+442079460000", True), ("+1415", False), ("+0123456789", False), ("abc", False)],
)
def test_reconcilable(e164, ok):
    assert knm.is_reconcilable(e164, RULES) is ok


def test_errors_have_kazoo_shape():
    assert knm.number_exists("+1") == {
        "code": 409,
        "error": "number_exists",
        "cause": "+1",
        "message": "number +1 already exists",
    }
    assert list(knm.forbidden()) == ["code", "error", "cause", "message"]
    assert knm.invalid_state_transition("+1", "in_service") == {
        "code": 400,
        "error": "invalid_state_transition",
        "cause": "from in_service to reserved",
        "message": "invalid state transition",
    }  # knm_errors:to_json/3
    assert knm.invalid_state_transition("+1", None)["cause"] == "from (nothing) to reserved"
    assert "cause" not in knm.error(500, "x", "y")


def test_who_may_add_and_for_whom():
    account = {"_id": ACCOUNT, "pvt_tree": [PARENT]}
    assert not knm.can_add(None) and not knm.can_add({"_id": OTHER})
    assert knm.can_add({"_id": OTHER, "pvt_wnm_allow_additions": True})
    assert knm.can_add({"_id": OTHER, "pvt_superduper_admin": True})
    assert knm.may_reserve_for({"_id": PARENT}, account) and knm.may_reserve_for({"_id": ACCOUNT}, account)
    assert not knm.may_reserve_for({"_id": OTHER}, account) and not knm.may_reserve_for(None, account)
    assert knm.may_reserve_for({"_id": OTHER, "pvt_superduper_admin": True}, account)


def test_number_doc_new_and_taken_over():
    new = knm.number_doc("+14158867900", ACCOUNT, "r1", knm.LOCAL, 100)
    assert new["_id"] == "+14158867900" and new["pvt_db_name"] == "numbers%2F%2B1415"
    assert new["pvt_state"] == "reserved" and new["pvt_assigned_to"] == ACCOUNT and new["pvt_created"] == 100
    assert new["pvt_features"] == {"local": {}} and "_rev" not in new and new["pvt_reserve_history"] == [ACCOUNT]
    stored = {"_rev": "3-x", "pvt_created": 5, "pvt_reserve_history": [OTHER], "pvt_ported_in": True}
    taken = knm.number_doc(
        "+14158867900",
        ACCOUNT,
        "r1",
        knm.OTHER,
        100,
        existing=stored,
        carrier={"opaque": {"k": 1}, "locality": {"city": "SF"}},
    )
    assert taken["_rev"] == "3-x" and taken["pvt_created"] == 5 and taken["pvt_ported_in"] is True
    assert taken["pvt_reserve_history"] == [ACCOUNT, OTHER]
    assert taken["pvt_carrier_data"] == {"k": 1} and taken["pvt_features"] == {"locality": {"city": "SF"}}


def test_taking_over_keeps_what_from_json_keeps():
    stored = {
        "_id": "+14158867900",
        "_rev": "4-z",
        "pvt_state": "available",
        "pvt_assigned_to": OTHER,
        "pvt_carrier_data": {"order": 1},
        "pvt_region": "r",
        "pvt_features": {"e911": {"zip": "1"}},
        "pvt_features_allowed": ["cnam"],
        "pvt_features_denied": ["port"],
        "pvt_used_by": "callflow",
        "cnam": {"display_name": "X"},
        "resource_id": "old",
        "used_by": "callflow",
        "id": "+1",
        "pvt_vsn": "9",
    }
    doc = knm.number_doc("+14158867900", ACCOUNT, "r1", knm.LOCAL, 100, existing=stored, job_id="j")
    assert doc["resource_id"] == "r1" and doc["cnam"] == {"display_name": "X"}
    assert doc["pvt_carrier_data"] == {"order": 1} and doc["pvt_region"] == "r"
    assert doc["pvt_features"] == {"e911": {"zip": "1"}, "local": {}}
    assert doc["pvt_features_allowed"] == ["cnam"] and doc["pvt_features_denied"] == ["port"]
    assert doc["pvt_previously_assigned_to"] == OTHER and doc["pvt_assigned_to"] == ACCOUNT
    for gone in ("used_by", "id", "pvt_used_by", "pvt_vsn"):
        assert gone not in doc
    # a number that was assigned to nobody keeps its previous owner
    again = knm.number_doc(
        "+14158867900",
        ACCOUNT,
        "r1",
        knm.LOCAL,
        100,
        existing={"pvt_previously_assigned_to": PARENT, "pvt_state": "available"},
    )
    assert again["pvt_previously_assigned_to"] == PARENT


def test_success_entry_and_is_ours():
    doc = knm.number_doc("+14158867900", ACCOUNT, "r1", knm.LOCAL, 100)
    entry = knm.success_entry(doc)
    assert "id" not in entry and entry["features"] == ["local"]
    assert entry["_read_only"]["carrier_module"] == "local" and entry["_read_only"]["created"] == 100
    assert not knm.is_ours(doc, ACCOUNT, "r1", "job-1")  # written by no job
    mine = knm.number_doc("+14158867900", ACCOUNT, "r1", knm.LOCAL, 100, job_id="job-1")
    assert mine["pvt_job_id"] == "job-1" and knm.is_ours(mine, ACCOUNT, "r1", "job-1")
    assert not knm.is_ours(mine, ACCOUNT, "r1", "job-2") and not knm.is_ours(mine, ACCOUNT, "r1", "")
    assert not knm.is_ours(mine, OTHER, "r1", "job-1") and not knm.is_ours(mine, ACCOUNT, "r2", "job-1")
    assert not knm.is_ours({**mine, "pvt_deleted": True}, ACCOUNT, "r1", "job-1")


def test_success_entry_is_kazoos_to_public_json():
    """knm_phone_number:to_public_json/1 of a new local number: the public fields, state, the
    sorted feature names and _read_only; no `id` (it is the key of `success`)."""
    doc = knm.number_doc("+14158867900", ACCOUNT, "r1", knm.LOCAL, 100)
    assert knm.success_entry(doc) == {
        "resource_id": "r1",
        "state": "reserved",
        "features": ["local"],
        "_read_only": {
            "created": 100,
            "modified": 100,
            "state": "reserved",
            "features": {"available": [], "settings": {}},
            "carrier_module": "local",
        },
    }
    other = knm.number_doc("+14158867901", ACCOUNT, "r1", knm.OTHER, 100)
    entry = knm.success_entry(other)
    assert "features" not in entry and entry["_read_only"]["carrier_module"] == "other"  # filter_empty


def test_another_carrier_drops_the_local_feature():
    """knm_phone_number:set_module_name/2: a number whose carrier becomes knm_other loses `local`
    (other features stay); one that becomes knm_local gets it (its stored value kept); a carrier
    that does not change leaves the features alone."""
    e911 = {"street_address": "1 Main St"}
    stored = {"pvt_state": "available", "pvt_module_name": "knm_local", "pvt_features": {"local": {}, "e911": e911}}
    moved = knm.number_doc("+14158867900", ACCOUNT, "r1", knm.OTHER, 100, existing=stored)
    assert moved["pvt_features"] == {"e911": e911}
    assert knm.success_entry(moved)["features"] == ["e911"]
    bare = {"pvt_state": "available", "pvt_features": {"local": {}}}  # no module: from_json makes it knm_local
    assert "pvt_features" not in knm.number_doc("+14158867900", ACCOUNT, "r1", knm.OTHER, 100, existing=bare)
    legacy = {"pvt_state": "available", "pvt_module_name": "wnm_other", "pvt_features": {"local": {}}}
    kept = knm.number_doc("+14158867900", ACCOUNT, "r1", knm.OTHER, 100, existing=legacy)  # wnm_other is knm_other
    assert kept["pvt_features"] == {"local": {}}
    back = {"pvt_state": "available", "pvt_module_name": "knm_other", "pvt_features": {"local": {"x": 1}}}
    local = knm.number_doc("+14158867900", ACCOUNT, "r1", knm.LOCAL, 100, existing=back)
    assert local["pvt_features"] == {"local": {"x": 1}}
    fresh = {"pvt_state": "available", "pvt_module_name": "knm_other", "pvt_features": {"cnam": {}}}
    assert knm.number_doc("+14158867900", ACCOUNT, "r1", knm.LOCAL, 100, existing=fresh)["pvt_features"] == {
        "cnam": {},
        "local": {},
    }


PLAN = Plan(
    ACCOUNT,
    "r1",
    knm.LOCAL,
    RULES,
    {"_id": ACCOUNT},
    {"_id": ACCOUNT, "pvt_superduper_admin": True},
    job_id="202601-00000000000000aa",
    folding=Folding(every=1, max_bytes=8_000_000),
)
N = "+14158867900"


def test_decide_new_number_is_written():
    verdict, doc = decide(PLAN, N, None, 100)
    assert verdict == "write" and doc["_id"] == N and doc["pvt_assigned_to"] == ACCOUNT
    assert doc["pvt_job_id"] == PLAN.job_id


def test_decide_resumed_number_of_this_job_is_a_success_not_a_rewrite():
    ours = knm.number_doc(N, ACCOUNT, "r1", knm.LOCAL, 50, job_id=PLAN.job_id)
    assert decide(PLAN, N, ours, 100) == ("ours", ours)
    # same account and resource, but another job's write (or Kazoo's): it exists, held by this account
    other_job = knm.number_doc(N, ACCOUNT, "r1", knm.LOCAL, 50, job_id="202601-00000000000000bb")
    assert decide(PLAN, N, other_job, 100) == ("error", knm.number_exists(N, ACCOUNT))
    kazoos = {k: v for k, v in ours.items() if k != "pvt_job_id"}
    assert decide(PLAN, N, kazoos, 100) == ("error", knm.number_exists(N, ACCOUNT))


def test_number_exists_names_the_holder_only_when_every_reader_of_the_job_may_see_it():
    """The job's account and its ancestors read the job: a holder at or below the account is named."""
    stored = {"_id": N, "pvt_state": "in_service"}
    below = {"_id": OTHER, "pvt_tree": [PARENT, ACCOUNT]}
    assert decide(PLAN, N, {**stored, "pvt_assigned_to": ACCOUNT}, 100)[1]["assigned_to"] == ACCOUNT
    assert decide(PLAN, N, {**stored, "pvt_assigned_to": OTHER}, 100, below)[1]["assigned_to"] == OTHER
    # a sibling or an ancestor (or an owner whose tree is unknown): Kazoo's error as it is
    for owner in ({"_id": OTHER, "pvt_tree": [PARENT]}, None):
        assert decide(PLAN, N, {**stored, "pvt_assigned_to": OTHER}, 100, owner)[1] == knm.number_exists(N)


@pytest.mark.parametrize(
    "state, expected",
    [
        ("in_service", "number_exists"),
        ("reserved", "number_exists"),
        ("aging", "invalid_state_transition"),
        ("port_in", "invalid_state_transition"),
    ],
)
def test_decide_blocking_states(state, expected):
    verdict, error = decide(PLAN, N, {"_id": N, "pvt_state": state, "pvt_assigned_to": OTHER}, 100)
    assert verdict == "error" and error["error"] == expected


def test_decide_available_number_is_taken_over_keeping_its_fields():
    stored = {"_id": N, "_rev": "2-b", "pvt_state": "available", "pvt_created": 7, "pvt_reserve_history": [OTHER]}
    verdict, doc = decide(PLAN, N, stored, 100)
    assert verdict == "write" and doc["_rev"] == "2-b" and doc["pvt_created"] == 7
    assert doc["pvt_reserve_history"] == [ACCOUNT, OTHER]


# knm_phone_number:handle_fetch: another hierarchy's number is 403 forbidden, not 409
CHILD = {"_id": ACCOUNT, "pvt_tree": [PARENT]}
CALLER = {"_id": ACCOUNT, "pvt_wnm_allow_additions": True, "pvt_tree": [PARENT]}
NOT_ADMIN = Plan(ACCOUNT, "r1", knm.LOCAL, RULES, CHILD, CALLER, "202601-00000000000000aa", PLAN.folding)


@pytest.mark.parametrize("state", ["in_service", "reserved", "aging", "port_in"])
def test_decide_number_of_another_hierarchy_is_forbidden(state):
    stored = {"_id": N, "pvt_state": state, "pvt_assigned_to": OTHER}
    assert decide(NOT_ADMIN, N, stored, 100, {"_id": OTHER, "pvt_tree": []}) == ("error", knm.unauthorized())
    assert knm.unauthorized() == {
        "code": 403,
        "error": "forbidden",
        "message": "requestor is unauthorized to perform operation",
    }
    # unknown owner account: still not ours to see
    assert decide(NOT_ADMIN, N, stored, 100, None) == ("error", knm.unauthorized())
    # a super-duper admin sees it and gets Kazoo's state answer
    assert decide(PLAN, N, stored, 100, None)[1]["code"] in (409, 400)


def test_handle_fetch_lets_the_hierarchy_see_its_numbers():
    in_service = {"_id": N, "pvt_state": "in_service"}
    # our own account's number, and a descendant's (the caller is in its tree): 409, not 403
    assert decide(NOT_ADMIN, N, {**in_service, "pvt_assigned_to": ACCOUNT}, 100)[1]["error"] == "number_exists"
    desc = {"_id": OTHER, "pvt_tree": [PARENT, ACCOUNT]}
    assert decide(NOT_ADMIN, N, {**in_service, "pvt_assigned_to": OTHER}, 100, desc)[1]["error"] == "number_exists"
    # reserved by a parent of the caller (is_reserved_from_parent); in_service by the parent is not
    reserved = {"_id": N, "pvt_state": "reserved", "pvt_assigned_to": PARENT}
    assert decide(NOT_ADMIN, N, reserved, 100, {"_id": PARENT})[1]["error"] == "number_exists"
    assert decide(NOT_ADMIN, N, {**reserved, "pvt_state": "in_service"}, 100, {"_id": PARENT}) == (
        "error",
        knm.unauthorized(),
    )
    # available numbers and numbers assigned to nobody are visible
    assert decide(NOT_ADMIN, N, {"_id": N, "pvt_state": "available", "pvt_assigned_to": OTHER}, 100)[0] == "write"
    assert decide(NOT_ADMIN, N, in_service, 100)[1]["error"] == "number_exists"


def test_decide_porting_only_blocks_new_numbers():
    assert decide(PLAN, N, None, 100, porting=True) == ("error", knm.number_is_porting(N))
    assert knm.number_is_porting(N) == {
        "code": 400,
        "error": "number_is_porting",
        "cause": N,
        "message": f"number {N} is porting",
    }
    # an existing number goes the existing-number way (knm_number:ensure_can_load_to_create)
    available = {"_id": N, "pvt_state": "available"}
    assert decide(PLAN, N, available, 100, porting=True)[0] == "write"
    port_in = {"_id": N, "pvt_state": "port_in", "pvt_assigned_to": ACCOUNT}
    assert decide(PLAN, N, port_in, 100, porting=True)[1]["error"] == "invalid_state_transition"
