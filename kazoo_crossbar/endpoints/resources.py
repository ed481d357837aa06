"""/v2/resources and /v2/accounts/{A}/resources (cb_resources), plus the
deprecated `global_resources` / `local_resources` nouns.

  []                GET list, PUT create
  [id]              GET, POST replace, PATCH top-level merge, DELETE
  [collection]      PUT create many, POST merge many
  [jobs, …]         bulk number jobs (resource_jobs.py)

Global resources live in `offnet` (super-duper admin only); local ones in
the account database, where gateways that register or peer are also copied
into `sip_auth` (resource_local.py).
"""
from __future__ import annotations

from typing import Any

from ..http import errors, listing
from ..http.context import Context, is_false
from ..storage import docs, names
from . import crud, resource_collection, resource_local
from .base import Endpoint, check_schema

PVT_TYPE = "resource"
SCHEMA = "resources"


def is_global(ctx: Context) -> bool:
    """4.3's is_global_resource_request: no account in the URL, or the `global_resources` noun."""
    return ctx.account_id is None or ctx.nouns[-1][0] == "global_resources"


def target_db(ctx: Context) -> str:
    return names.OFFNET if is_global(ctx) else names.account_db(ctx.account_id or "")


def doc_account_id(ctx: Context) -> str | None:
    # pvt_account_id is absent on /v2/resources docs, the URL account otherwise (even global_resources).
    return ctx.account_id


class Resources(Endpoint):
    nouns = ("resources", "global_resources", "local_resources")

    def __init__(self, jobs: Endpoint | None = None):
        self.jobs = jobs

    def allowed_methods(self, ctx: Context, args: list[str]) -> frozenset[str]:
        if args and args[0] == "jobs":
            return self.jobs.allowed_methods(ctx, args[1:]) if self.jobs and ctx.nouns[-1][0] == "resources" \
                else frozenset()
        if not args:
            return frozenset({"GET", "PUT"})
        if len(args) == 1:
            return frozenset({"PUT", "POST"}) if args[0] == "collection" else \
                frozenset({"GET", "POST", "PATCH", "DELETE"})
        return frozenset()

    async def authorize(self, ctx: Context, args: list[str]) -> bool | None:
        if args and args[0] == "jobs" and self.jobs:
            return await self.jobs.authorize(ctx, args[1:])
        if is_global(ctx):
            return ctx.is_superduper_admin
        return None  # the account hierarchy rule (a deliberate difference from 4.3, see decisions)

    async def validate(self, ctx: Context, args: list[str]) -> None:
        if args and args[0] == "jobs" and self.jobs:
            return await self.jobs.validate(ctx, args[1:])
        db = target_db(ctx)
        if not args:
            if ctx.method == "GET":
                return await self._summary(ctx, db)
            return await self._prepare_create(ctx, db)
        if args[0] == "collection":
            return await resource_collection.validate(ctx, db, is_global(ctx))
        doc_id = args[0]
        if ctx.method == "GET":
            doc = await crud.load(ctx, db, doc_id, PVT_TYPE, cached=True)
            ctx.resp_data, ctx.revision = docs.to_public(doc), doc["_rev"]
        elif ctx.method == "POST":
            # Schema errors are reported before existence, as Kazoo does.
            data = await self._checked(ctx, crud.request_public_data(ctx.data), doc_id)
            stored = await crud.load(ctx, db, doc_id, PVT_TYPE)
            ctx.doc = {**docs.private_fields(stored), **data}
        elif ctx.method == "PATCH":
            patch = crud.request_public_data(ctx.data)
            if not isinstance(patch, dict):
                raise errors.wrong_type(patch, "object")
            stored = await crud.load(ctx, db, doc_id, PVT_TYPE)
            merged = docs.public_fields(stored)
            for key, value in patch.items():
                if value is None:  # deliberate: a top-level null removes the key
                    merged.pop(key, None)
                else:
                    merged[key] = value  # top-level replacement, as 4.3 (objects are not merged)
            ctx.doc = {**docs.private_fields(stored), **await self._checked(ctx, merged, doc_id)}
        elif ctx.method == "DELETE":
            ctx.doc = await crud.load(ctx, db, doc_id, PVT_TYPE)
        if ctx.doc is not None:
            crud.check_if_match(ctx, ctx.doc)

    async def execute(self, ctx: Context, args: list[str]) -> None:
        if args and args[0] == "jobs" and self.jobs:
            return await self.jobs.execute(ctx, args[1:])
        db = target_db(ctx)
        if args and args[0] == "collection":
            return await resource_collection.execute(ctx, db, doc_account_id(ctx), is_global(ctx))
        doc: dict = ctx.doc
        if ctx.method == "DELETE":
            revision = doc["_rev"]
            if is_false(ctx.req_value("should_soft_delete", True)):
                await crud.hard_delete(ctx, db, doc)
            else:
                await crud.soft_delete(ctx, db, doc, doc_account_id(ctx))
            if not is_global(ctx):
                await resource_local.remove_aggregate(ctx, doc["_id"])
            else:
                await ctx.services.bus.reload_switch()  # after the write (4.3 published before it)
            ctx.resp_data, ctx.revision = docs.to_public(doc, deleted=True), revision
            return
        await crud.save(ctx, db, doc, doc_account_id(ctx))
        if not is_global(ctx):
            await resource_local.sync_aggregate(ctx, doc, ctx.scratch.get("aggregate", False))
        else:
            await ctx.services.bus.reload_switch()
        ctx.resp_data, ctx.revision = docs.to_public(doc), doc["_rev"]
        if ctx.method == "PUT":
            ctx.status = 201
            ctx.location = ctx.request.path.rstrip("/") + "/" + doc["_id"]

    async def _summary(self, ctx: Context, db: str) -> None:
        size = await listing.page_size(ctx)
        # 4.3's legacy listing: ascending by id, each page emitted in reverse.
        await listing.load(ctx, [db], "resources", "crossbar_listing", size=size, reverse_page=True)

    async def _prepare_create(self, ctx: Context, db: str) -> None:
        data = crud.request_public_data(ctx.data)
        if not isinstance(data, dict):
            raise errors.wrong_type(data, "object")
        doc_id = data.get("id", None)
        if doc_id is not None and not crud.valid_id(doc_id):
            raise errors.validation({"id": {"invalid": {"message": "Invalid document id", "value": doc_id}}})
        validated = await self._checked(ctx, data, doc_id)
        ctx.doc = {"_id": doc_id or docs.new_id(), **validated, "pvt_type": PVT_TYPE}

    async def _checked(self, ctx: Context, data: Any, doc_id: str | None) -> dict:
        """Schema validation (defaults inserted), then the local-only checks."""
        if not isinstance(data, dict):
            raise errors.wrong_type(data, "object")
        validated = await check_schema(ctx, SCHEMA, data)
        validated.pop("id", None)
        if not is_global(ctx):
            ctx.scratch["aggregate"] = await resource_local.check(ctx, validated, doc_id)
        return validated
