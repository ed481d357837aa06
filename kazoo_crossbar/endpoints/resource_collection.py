"""PUT/POST /resources/collection: many resources in one request.

As Kazoo's resources API documentation shows (a deliberate difference from 4.3's
code, which saved nothing if one item failed): every valid item is saved, the answer is
`{"successes": {id: doc}, "errors": {id: errors | "resource does not exist"}}`.
PUT creates each item; POST deep-merges each item into the stored document
and validates the result. Writes go through one `_bulk_docs`; a
per-document conflict is reported under `errors`, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..http import errors
from ..http.context import Context
from ..storage import docs
from ..storage.system_config import SystemConfig
from . import crud, resource_limits
from .base import validate as validate_schema
from .resource_local import LocalResources, registers
from .switch_reload import SwitchWrites

PVT_TYPE = "resource"
NOT_FOUND = "resource does not exist"


@dataclass
class CollectionPlan:
    """What validate hands to execute: the documents to save, and the items already refused."""

    prepared: list[dict]
    failed: dict[str, Any]


async def _item(
    ctx: Context,
    store: crud.Docs,
    db: str,
    index: int,
    item: Any,
    strict: bool,
    local: LocalResources | None,
    bounds: resource_limits.Bounds,
) -> tuple[str, dict | None, Any]:
    """(id, prepared doc or None, error) for one collection item."""
    if not isinstance(item, dict):
        return str(index), None, errors.wrong_type(item, "object").data
    item = crud.request_public_data(item)
    doc_id = item.pop("id", None) or docs.new_id()
    if not crud.valid_id(doc_id):
        return str(doc_id), None, {"id": {"invalid": {"message": "Invalid document id", "value": doc_id}}}
    stored: dict = {}
    if ctx.method == "POST":
        try:
            stored = await store.load(db, doc_id, PVT_TYPE)
        except errors.ApiError:
            return doc_id, None, NOT_FOUND
        item = docs.deep_merge(docs.public_fields(stored), item)
    if local is not None and (conflict := await local.owner_conflict(ctx, doc_id)):
        return doc_id, None, conflict
    if over := bounds.resource_errors(item):
        return doc_id, None, over
    # each item is a share of the body: a large collection validates its items off the loop
    validated, problems = await validate_schema("resources", item, strict=strict, body_size=ctx.body_size)
    if problems:
        return doc_id, None, problems
    validated.pop("id", None)
    return doc_id, {**docs.private_fields(stored), "_id": doc_id, **validated, "pvt_type": PVT_TYPE}, None


async def validate(
    ctx: Context, store: crud.Docs, config: SystemConfig, db: str, local: LocalResources | None
) -> CollectionPlan:
    """`local`: the account's local-resource checks; None for global resources."""
    if not isinstance(ctx.data, list):
        raise errors.wrong_type(ctx.data, "array")
    bounds = await resource_limits.bounds(config)
    if over := bounds.collection_errors(ctx.data):
        raise errors.validation(over)
    strict = await config.setting("crossbar", "schema_strict_validation") is True
    prepared: list[dict] = []
    failed: dict[str, Any] = {}
    seen: set[str] = set()
    for index, item in enumerate(ctx.data):
        doc_id, doc, problem = await _item(ctx, store, db, index, item, strict, local, bounds)
        if doc is not None and doc_id in seen:
            doc, problem = None, {"id": {"unique": {"message": "Duplicate id in collection", "value": doc_id}}}
        if doc is None:
            failed[doc_id] = problem
        else:
            seen.add(doc_id)
            prepared.append(doc)
    return CollectionPlan(prepared, failed)


async def execute(
    ctx: Context,
    store: crud.Docs,
    local: LocalResources,
    plan: CollectionPlan,
    db: str,
    account_id: str | None,
    is_global: bool,
) -> SwitchWrites:
    """Save the items; what was written that the switch cares about (the caller decides the reload)."""
    prepared, failed = plan.prepared, plan.failed
    successes: dict[str, dict] = {}
    written = SwitchWrites()
    results = await store.bulk_save(ctx, db, prepared, account_id) if prepared else []
    for doc, result in zip(prepared, results):
        if "error" in result:
            failed[doc["_id"]] = {"message": "conflicting documents", "error": result["error"]}
            continue
        if is_global:
            written.offnet += 1
        # collection items get no peer checks (as in 4.3); registering gateways still aggregate
        elif await local.sync_aggregate(ctx, doc, registers(doc)):
            written.sip_auth += 1
        successes[doc["_id"]] = docs.to_public(doc)
    ctx.resp_data = {"successes": successes, "errors": failed}
    ctx.status = 201 if ctx.method == "PUT" else 200
    return written
