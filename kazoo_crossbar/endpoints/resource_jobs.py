"""…/resources/jobs: bulk number jobs (cb_resources jobs part).

  []         GET listing over the month databases in range, PUT create
  [job_id]   GET one job with `status` and `timestamp`

On `/v2/resources/jobs` (no account) the job belongs to the master account
and needs a super-duper admin. Who runs the job is the job service's business
(jobs/service.py); this module checks the request and hands it over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .. import jsonc
from ..http import errors, listing
from ..http.context import Context
from ..http.endpoint import Endpoint, Route
from ..http.operations import LISTING_PARAMS, OBJECT, ROWS, Operation, path_param
from ..jobs import size, store
from ..jobs.service import JobService
from ..storage import names, resource_docs
from ..storage.couch import CouchClient
from ..storage.system_config import SystemConfig
from . import crud
from .base import check_schema


@dataclass(frozen=True)
class NewJob:
    """What validate hands to execute: the job's account and its checked request data."""

    account_id: str
    data: dict


async def job_account(ctx: Context, config: SystemConfig) -> str:
    if ctx.account_id is not None:
        return ctx.account_id
    master = await config.get("accounts", "master_account_id")
    if not names.is_account_id(master):
        raise errors.unspecified_fault("no master account configured")
    return master


# Gregorian seconds a date can have (years 1 to 9999): outside, no month database can exist.
MIN_GREGORIAN = names.unix_to_gregorian(datetime(1, 1, 1, tzinfo=UTC).timestamp())
MAX_GREGORIAN = names.unix_to_gregorian(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())


async def date_range(ctx: Context, config: SystemConfig) -> tuple[int, int]:
    """created_from/created_to (gregorian s) with Kazoo's defaults and date_range errors."""
    max_range = await config.setting_int("crossbar", "maximum_range")

    def value(key: str) -> int | None:
        try:
            number = int(ctx.req_value(key))
        except (TypeError, ValueError):
            return None
        return number if number > 0 else None

    to = value("created_to") or names.gregorian_now()
    frm = value("created_from") or to - max_range
    for key, number in (("created_from", frm), ("created_to", to)):
        if not MIN_GREGORIAN <= number <= MAX_GREGORIAN:
            raise errors.validation(
                {
                    key: {
                        "date_range": {
                            "message": f"{key} must be between {MIN_GREGORIAN} and {MAX_GREGORIAN}",
                            "cause": number,
                        }
                    }
                }
            )
    if to < frm:
        raise errors.validation(
            {
                "created_from": {
                    "date_range": {"message": f"created_to {to} is prior to created_from {frm}", "cause": frm}
                }
            }
        )
    if to - frm > max_range:
        raise errors.validation(
            {
                "created_from": {
                    "date_range": {
                        "message": f"created_to {to} is more than {max_range} seconds from created_from {frm}",
                        "cause": to,
                    }
                }
            }
        )
    return frm, to


async def _check_job_size(config: SystemConfig, data: object) -> None:
    """A job document must stay far below CouchDB's max_document_size (the CLI splits files)."""
    limit = await config.setting_int("crossbar.resources", "job_max_numbers")
    numbers = data.get("numbers") if isinstance(data, dict) else None
    if isinstance(numbers, list) and len(numbers) > limit:
        raise errors.validation(
            {"numbers": {"maxItems": {"message": f"The list is more than {limit} items", "target": limit}}}
        )


async def _check_ui_metadata(config: SystemConfig, data: object) -> None:
    """A job document is saved after every batch: an opaque `ui_metadata` of megabytes would be
    rewritten each time and could push the document past CouchDB's max_document_size."""
    if not isinstance(data, dict) or "ui_metadata" not in data:
        return
    limit = await config.setting_int("crossbar.resources", "job_ui_metadata_max_bytes")
    if len(jsonc.dumps(data["ui_metadata"])) > limit:
        raise errors.validation(
            {
                "ui_metadata": {
                    "maxSize": {"message": f"ui_metadata must not be more than {limit} bytes", "target": limit}
                }
            }
        )


async def _check_document_size(config: SystemConfig, data: dict) -> None:
    """A job whose document, with room for every result, could outgrow CouchDB's
    max_document_size would be accepted, reserve numbers and then never save: refuse it. Too many
    numbers is `numbers.maxItems` with how many fit (the CLI and the console split by it); else the
    largest other field is named."""
    limit = await config.setting_int("crossbar.resources", "job_document_max_bytes")
    job = size.estimate(data)
    if job.total <= limit:
        return
    message = f"the job's document would reach {job.total} bytes with its results, over max_document_size {limit}"
    largest = max(job.fields, key=job.fields.__getitem__, default="numbers")
    if sum(job.per_number) < job.fields.get(largest, 0):
        raise errors.validation({largest: {"maxSize": {"message": message, "target": limit}}})
    if (fit := job.numbers_that_fit(limit)) > 0:
        raise errors.validation({"numbers": {"maxItems": {"message": message, "target": fit}}})
    raise errors.validation({"numbers": {"maxSize": {"message": message, "target": limit}}})


class ResourceJobs(Endpoint[NewJob]):
    """The `jobs` sub-noun of `resources` and of the deprecated `global_resources` / `local_resources`
    (cb_resources binds allowed_methods for all three). The job always belongs to the URL's account
    (the master account without one); `global_resources` needs a super-duper admin, as in 4.3."""

    routes = (
        Route(
            (),
            {
                "GET": Operation("list_jobs_{tag}", "List bulk number jobs", "200", ROWS, query=LISTING_PARAMS),
                "PUT": Operation(
                    "create_job_{tag}",
                    "Add numbers in bulk",
                    "201",
                    OBJECT,
                    {"$ref": "#/components/schemas/resource_jobs"},
                ),
            },
        ),
        Route(
            (path_param("job_id", r"^\d{6}-[0-9a-f]{16}$"),),
            {"GET": Operation("get_job_{tag}", "Fetch a job's status", "200", OBJECT)},
        ),
    )

    def __init__(self, jobs: JobService, couch: CouchClient, config: SystemConfig):
        self.jobs, self.couch, self.config = jobs, couch, config

    async def authorize(self, ctx: Context, args: list[str]) -> bool | None:
        if ctx.account_id is None or ctx.nouns[-1][0] == "global_resources":
            return ctx.is_superduper_admin
        return None

    async def validate(self, ctx: Context, args: list[str]) -> NewJob | None:
        account_id = await job_account(ctx, self.config)
        if args:
            await self._fetch(ctx, account_id, args[0])
            return None
        if ctx.method == "GET":
            await self._summary(ctx, account_id)
            return None
        public = crud.request_public_data(ctx.data)
        await _check_job_size(self.config, public)  # before the schema: validating 400k items takes seconds
        await _check_ui_metadata(self.config, public)
        data = await check_schema(
            self.config, "resource_jobs", public, body_size=ctx.body_size
        )  # off the loop when big
        data.pop("id", None)
        await _check_document_size(self.config, data)
        if await resource_docs.scope(self.couch, account_id, data["resource_id"]) is None:
            raise errors.validation(
                {
                    "resource_id": {
                        "not_found": {
                            "message": f"resource {data['resource_id']} does not exist",
                            "value": data["resource_id"],
                        }
                    }
                }
            )
        return NewJob(account_id, data)

    async def execute(self, ctx: Context, args: list[str], prepared: NewJob) -> None:
        doc = await self.jobs.create(prepared.account_id, prepared.data, ctx.writer(prepared.account_id))
        ctx.resp_data, ctx.revision = store.to_api(doc, with_status=False), doc["_rev"]
        ctx.status = 201
        ctx.location = ctx.request.path.rstrip("/") + "/" + doc["_id"]

    async def _fetch(self, ctx: Context, account_id: str, job_id: str) -> None:
        db = store.job_db(account_id, job_id)
        if db is None:
            raise errors.bad_identifier_list(job_id)
        doc = await store.load(self.couch, db, job_id)  # a running job's results are folded into it
        if doc is None:
            raise errors.bad_identifier(job_id)
        ctx.resp_data, ctx.revision = store.to_api(doc, with_status=True), doc["_rev"]

    async def _summary(self, ctx: Context, account_id: str) -> None:
        frm, to = await date_range(ctx, self.config)
        months = names.months_between(names.gregorian_to_datetime(frm), names.gregorian_to_datetime(to))
        ascending = str(ctx.query.get("ascending", "")).lower() == "true"
        dbs = [names.modb(account_id, y, m) for y, m in (months if ascending else reversed(months))]
        size = await listing.page_size(ctx, self.config, strict=True)
        start, end = (frm, to) if ascending else (to, frm)
        await listing.load(
            ctx,
            self.couch,
            dbs,
            "resources",
            "jobs_listing",
            start=start,
            end=end,
            descending=not ascending,
            size=size,
            skip_missing_dbs=True,
        )
