"""GET /v2/system_configs/{category}: read-only, super-duper admin only (cb_system_configs).

The console shows the settings that govern jobs (`crossbar.resources`: job_max_numbers and the
recovery threshold) through this, as any client would. Writing system_config stays with
Kazoo or CouchDB (docs/decisions.md)."""

from __future__ import annotations

from ..http import errors
from ..http.context import Context
from ..http.endpoint import Endpoint, Mount, Route
from ..http.operations import OBJECT, Operation, path_param
from ..storage import docs, names
from ..storage.couch import CouchClient, NotFound


class SystemConfigs(Endpoint[None]):
    nouns = ("system_configs",)
    routes = (
        Route(
            (path_param("config_id"),),
            {
                "GET": Operation(
                    "get_system_config", "Fetch a system_config category (super-duper admin)", "200", OBJECT
                )
            },
        ),
    )
    mounts = (Mount("/v2/system_configs"),)

    def __init__(self, couch: CouchClient):
        self.couch = couch

    async def authorize(self, ctx: Context, args: list[str]) -> bool | None:
        # 4.3: super-duper admin, and only as the first noun (not under /accounts/{A})
        return ctx.is_superduper_admin and len(ctx.nouns) == 1

    async def validate(self, ctx: Context, args: list[str]) -> None:
        category = args[0]
        if category.startswith("_"):
            raise errors.bad_identifier(category)  # never a design document
        try:
            doc = await self.couch.get_doc(names.SYSTEM_CONFIG, category)
        except NotFound:
            raise errors.bad_identifier(category) from None
        ctx.resp_data, ctx.revision = docs.to_public(doc), doc.get("_rev")
