"""/v2/resources and /v2/accounts/{A}/resources (cb_resources), plus the
deprecated `global_resources` / `local_resources` nouns.

  []                GET list, PUT create
  [id]              GET, POST replace, PATCH top-level merge, DELETE
  [collection]      PUT create many, POST merge many
  [jobs, …]         bulk number jobs: the `jobs` sub-noun, its own endpoint (resource_jobs.py)

Global resources live in `offnet` (super-duper admin only); local ones in
the account database, where gateways that register or peer are also copied
into `sip_auth` (resource_local.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..bus.base import Bus
from ..http import errors, listing
from ..http.context import Context, is_false
from ..http.endpoint import Endpoint, Mount, Route
from ..http.operations import ACCOUNT_ID, LISTING_PARAMS, OBJECT, ROWS, Operation, path_param
from ..storage import docs, names
from ..storage.recent import Overlay
from ..storage.system_config import SystemConfig
from . import crud, resource_collection, resource_limits
from .base import check_schema
from .resource_collection import CollectionPlan
from .resource_jobs import ResourceJobs
from .resource_local import LocalResources
from .switch_reload import SwitchWrites, reload_switch_after

PVT_TYPE = "resource"
SCHEMA = "resources"


# The fields of `resources/crossbar_listing` (couchdb_views/*/resources.json), in its order.
LISTING_FIELDS = ("name", "enabled", "weight_cost", "template_name", "classifiers")


def listing_rows(doc: dict) -> list[tuple[Any, Any]]:
    """`resources/crossbar_listing`'s map in Python: the row a resource written here shows in a
    listing before the view's copy has it (storage/recent.py)."""
    if doc.get("pvt_type") != PVT_TYPE or doc.get("pvt_deleted"):
        return []
    value = {"id": doc["_id"], **{k: doc[k] for k in LISTING_FIELDS if k in doc}}
    return [(doc["_id"], value)]


def is_global(ctx: Context) -> bool:
    """4.3's is_global_resource_request: no account in the URL, or the `global_resources` noun."""
    return ctx.account_id is None or ctx.nouns[-1][0] == "global_resources"


def target_db(ctx: Context) -> str:
    return names.OFFNET if is_global(ctx) else names.account_db(ctx.account_id or "")


def doc_account_id(ctx: Context) -> str | None:
    # pvt_account_id is absent on /v2/resources docs, the URL account otherwise (even global_resources).
    return ctx.account_id


@dataclass
class ResourceChange:
    """What validate hands to execute for one resource: the document to write, and (local
    resources) whether it belongs in `sip_auth`."""

    doc: dict
    aggregate: bool = False


RESOURCE = {"$ref": "#/components/schemas/resources"}
COLLECTION = {"type": "object", "properties": {"successes": {"type": "object"}, "errors": {"type": "object"}}}


class Resources(Endpoint[ResourceChange | CollectionPlan]):
    nouns = ("resources", "global_resources", "local_resources")
    routes = (
        Route(
            (),
            {
                "GET": Operation("list_{tag}", "List resources", "200", ROWS, query=LISTING_PARAMS),
                "PUT": Operation("create_{tag}", "Create a resource", "201", OBJECT, RESOURCE),
            },
        ),
        Route(
            (path_param("resource_id"),),
            {
                "GET": Operation("get_{tag}", "Fetch a resource", "200", OBJECT),
                "POST": Operation("replace_{tag}", "Replace a resource", "200", OBJECT, RESOURCE),
                "PATCH": Operation("patch_{tag}", "Change some fields of a resource", "200", OBJECT, OBJECT),
                "DELETE": Operation("delete_{tag}", "Remove a resource", "200", OBJECT),
            },
        ),
        Route(
            ("collection",),
            {
                "PUT": Operation(
                    "create_collection_{tag}",
                    "Create many resources",
                    "201",
                    COLLECTION,
                    {"type": "array", "items": RESOURCE},
                ),
                "POST": Operation("update_collection_{tag}", "Change many resources", "200", COLLECTION, ROWS),
            },
        ),
    )
    mounts = (
        Mount("/v2/resources", "global"),
        Mount("/v2/accounts/{account_id}/resources", "local", (ACCOUNT_ID,)),
        Mount("/v2/accounts/{account_id}/local_resources", "local_alias", (ACCOUNT_ID,), deprecated=True),
        Mount("/v2/accounts/{account_id}/global_resources", "global_alias", (ACCOUNT_ID,), deprecated=True),
    )

    def __init__(self, store: crud.Docs, config: SystemConfig, bus: Bus, jobs: ResourceJobs):
        self.store, self.config, self.bus = store, config, bus
        self.local = LocalResources(store.writes, config)
        self.subnouns = {"jobs": jobs}

    async def authorize(self, ctx: Context, args: list[str]) -> bool | None:
        if is_global(ctx):
            return ctx.is_superduper_admin
        return None  # the account hierarchy rule (differs from 4.3: docs/decisions.md, HTTP)

    async def validate(self, ctx: Context, args: list[str]) -> ResourceChange | CollectionPlan | None:
        db = target_db(ctx)
        if not args:
            if ctx.method == "GET":
                await self._summary(ctx, db)
                return None
            return await self._prepare_create(ctx, db)
        if args[0] == "collection":
            return await resource_collection.validate(
                ctx, self.store, self.config, db, None if is_global(ctx) else self.local
            )
        doc_id = args[0]
        change: ResourceChange | None = None
        if ctx.method == "GET":
            doc = await self.store.load(db, doc_id, PVT_TYPE, cached=True)
            ctx.resp_data, ctx.revision = docs.to_public(doc), doc["_rev"]
        elif ctx.method == "POST":
            # Schema errors are reported before existence, as Kazoo does.
            change = await self._checked(ctx, crud.request_public_data(ctx.data), doc_id)
            stored = await self.store.load(db, doc_id, PVT_TYPE)
            change.doc = {**docs.private_fields(stored), **change.doc}
        elif ctx.method == "PATCH":
            patch = crud.request_public_data(ctx.data)
            if not isinstance(patch, dict):
                raise errors.wrong_type(patch, "object")
            stored = await self.store.load(db, doc_id, PVT_TYPE)
            merged = docs.public_fields(stored)
            for key, value in patch.items():
                if value is None:  # deliberate: a top-level null removes the key
                    merged.pop(key, None)
                else:
                    merged[key] = value  # top-level replacement, as 4.3 (objects are not merged)
            change = await self._checked(ctx, merged, doc_id)
            change.doc = {**docs.private_fields(stored), **change.doc}
        elif ctx.method == "DELETE":
            change = ResourceChange(await self.store.load(db, doc_id, PVT_TYPE))
        if change is not None:
            crud.check_if_match(ctx, change.doc)
        return change

    async def execute(self, ctx: Context, args: list[str], prepared: ResourceChange | CollectionPlan | None) -> None:
        # the switch reload is decided once, from what the request wrote (switch_reload.py)
        await reload_switch_after(self.bus, await self._write(ctx, prepared))

    async def _write(self, ctx: Context, prepared: ResourceChange | CollectionPlan | None) -> SwitchWrites:
        db = target_db(ctx)
        if isinstance(prepared, CollectionPlan):
            return await resource_collection.execute(
                ctx, self.store, self.local, prepared, db, doc_account_id(ctx), is_global(ctx)
            )
        assert prepared is not None
        doc = prepared.doc
        if ctx.method == "DELETE":
            revision = doc["_rev"]
            if is_false(ctx.req_value("should_soft_delete", True)):
                await self.store.hard_delete(ctx, db, doc)
            else:
                await self.store.soft_delete(ctx, db, doc, doc_account_id(ctx))
            ctx.resp_data, ctx.revision = docs.to_public(doc, deleted=True), revision
            if is_global(ctx):
                return SwitchWrites(offnet=1)
            return SwitchWrites(sip_auth=int(await self.local.remove_aggregate(ctx, doc["_id"])))
        await self.store.save(ctx, db, doc, doc_account_id(ctx))
        ctx.resp_data, ctx.revision = docs.to_public(doc), doc["_rev"]
        if ctx.method == "PUT":
            ctx.status = 201
            ctx.location = ctx.request.path.rstrip("/") + "/" + doc["_id"]
        if is_global(ctx):
            return SwitchWrites(offnet=1)
        return SwitchWrites(sip_auth=int(await self.local.sync_aggregate(ctx, doc, prepared.aggregate)))

    async def _summary(self, ctx: Context, db: str) -> None:
        size = await listing.page_size(ctx, self.config)
        # 4.3's legacy listing: ascending by id, each page emitted in reverse.
        recent = self.store.writes.recent
        await listing.load(
            ctx,
            self.store.couch,
            [db],
            "resources",
            "crossbar_listing",
            size=size,
            reverse_page=True,
            overlay=Overlay(recent, listing_rows) if recent is not None else None,
        )

    async def _prepare_create(self, ctx: Context, db: str) -> ResourceChange:
        data = crud.request_public_data(ctx.data)
        if not isinstance(data, dict):
            raise errors.wrong_type(data, "object")
        doc_id = data.get("id", None)
        if doc_id is not None and not crud.valid_id(doc_id):
            raise errors.validation({"id": {"invalid": {"message": "Invalid document id", "value": doc_id}}})
        change = await self._checked(ctx, data, doc_id)
        change.doc = {"_id": doc_id or docs.new_id(), **change.doc, "pvt_type": PVT_TYPE}
        return change

    async def _checked(self, ctx: Context, data: Any, doc_id: str | None) -> ResourceChange:
        """Schema validation (defaults inserted), then the local-only checks."""
        if not isinstance(data, dict):
            raise errors.wrong_type(data, "object")
        if over := (await resource_limits.bounds(self.config)).resource_errors(data):
            raise errors.validation(over)
        validated = await check_schema(self.config, SCHEMA, data, body_size=ctx.body_size)
        validated.pop("id", None)
        aggregate = False if is_global(ctx) else await self.local.check(ctx, validated, doc_id)
        return ResourceChange(validated, aggregate)
