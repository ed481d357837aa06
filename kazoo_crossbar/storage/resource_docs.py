"""Whether a resource exists: decided here only (a job's `resource_id` check, the job runner's
carrier module, crossbar_doc's 404 through `docs.is_live`).

A resource is a live document of `pvt_type: resource` in `offnet` (a global carrier) or in
the account's database (the account's own). An id CouchDB refuses (400) cannot exist; any
other CouchDB failure is raised, so an outage never turns a global resource into a local one.
"""

from __future__ import annotations

from enum import StrEnum

from . import docs, names
from .couch import CouchClient, CouchError, NotFound

RESOURCE = "resource"


class Scope(StrEnum):
    GLOBAL = "global"  # offnet: ordered through knm_other
    LOCAL = "local"  # the account's database: knm_local


async def find(couch: CouchClient, db: str, resource_id: str) -> dict | None:
    """The live resource `resource_id` of database `db`, None when there is none."""
    if not docs.valid_id(resource_id):
        return None  # `.`/`..` would address the database info, not a resource
    try:
        doc = await couch.get_doc(db, resource_id)
    except NotFound:
        return None
    except CouchError as exc:
        if exc.status == 400:
            return None
        raise
    return doc if docs.is_live(doc, RESOURCE) else None


async def scope(couch: CouchClient, account_id: str, resource_id: str) -> Scope | None:
    """Where the resource lives (global first, as cb_jobs_listener:select_carrier_module looks
    in offnet first), None when nowhere."""
    if await find(couch, names.OFFNET, resource_id) is not None:
        return Scope.GLOBAL
    if await find(couch, names.account_db(account_id), resource_id) is not None:
        return Scope.LOCAL
    return None
