"""Runs one bulk number job (the worker pool that schedules runs is pool.py).

A job is claimed through CouchDB's revision check, then its numbers are
handled in batches: existing number docs read with one `_all_docs` per
number database, new ones written with one `_bulk_docs`, the batch's results
saved as a small document of their own, and the job doc checkpointed once per
batch (the numbers the next batches may write, `pvt_inflight`; never the
results, which it receives once, on completion: store.py). Every number
document a job writes carries its job id (`pvt_job_id`), so after a crash
anywhere the resumed job treats a stored number with its own id as its own
success: nothing is written twice, lost, or reported as an error by the job
that added it, and no other job (same account and resource or not) can pass a
number off as its own. A failed checkpoint (someone else saved the
job) stops this executor: the other node owns it now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import structlog

from .. import jsonc
from ..metrics import Metrics
from ..storage import names
from ..storage.accounts import Accounts
from ..storage.couch import Conflict, CouchError, NotFound
from ..storage.system_config import SystemConfig
from ..storage.writes import Writes, bind_msg_id
from . import carriers, failure, fair, faults, numbers, store
from .number_store import NumberStore
from .service_quantities import ServiceQuantities
from .view_warmer import ViewWarmer

log = structlog.get_logger(__name__)


def _enc(value: Any) -> str:
    return jsonc.dumps_str(value)


def batch_size(total: int) -> int:
    # A checkpoint writes one batch's results and the job doc without results, so its cost no
    # longer grows with the job's progress; smaller batches overlap reads, writes and
    # checkpoints better and keep a crash's redo small.
    return max(250, min(2_000, total // 4 or 1))


@dataclass
class JobRun:
    """One job in progress: the doc without its results, and the results pre-encoded: all of
    them, and those the job doc itself holds (`base_*`: none, unless a Kazoo node started the
    job), which every checkpoint keeps; the rest are in batch documents until completion."""

    db: str
    doc: dict
    success: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    base_success: dict[str, str] = field(default_factory=dict)
    base_errors: dict[str, str] = field(default_factory=dict)
    generation: int = 0  # of this run's claim: names its batch documents
    batches_saved: int = 0

    @classmethod
    def from_doc(cls, db: str, doc: dict, batch_docs: list[dict] | None = None) -> JobRun:
        success = {k: _enc(v) for k, v in (doc.pop("success", None) or {}).items()}
        errors = {k: _enc(v) for k, v in (doc.pop("errors", None) or {}).items()}
        done, failed = store.batch_results(batch_docs or [])
        return cls(db, doc, {**success, **done}, {**errors, **failed}, success, errors)


class JobRunner:
    """Runs (or resumes) one job at a time per call; knows nothing of scheduling."""

    def __init__(
        self, writes: Writes, config: SystemConfig, accounts: Accounts, node: str, metrics: Metrics | None = None
    ):
        self.writes, self.couch, self.config, self.accounts, self.node = writes, writes.couch, config, accounts, node
        self.metrics = metrics or Metrics()
        self.numbers = NumberStore(writes)
        self.services = ServiceQuantities(writes, config)
        self.warmer = ViewWarmer(self.couch)  # the account's listing views, refreshed as batches land

    # --- one job ----------------------------------------------------------------------------
    async def run(self, account_id: str, job_id: str, *, claimed: bool = False) -> str:
        """Run (or resume) a job; returns what happened: complete, skipped, lost, missing."""
        db = store.job_db(account_id, job_id)
        doc = await store.load(self.couch, db, job_id) if db else None
        if doc is None or db is None:
            return "missing"
        bind_msg_id(doc.get("pvt_request_id"))  # this run's change events carry the job's request id
        status = doc.get("pvt_status")
        mine = claimed and status == "running" and doc.get("pvt_node") == self.node
        if status in ("complete", failure.FAILED) or (status == "running" and not mine):
            return "skipped"
        # results of batches a crashed run saved: those entries are done
        job = JobRun.from_doc(db, doc, await store.load_batches(self.couch, db, job_id))
        try:
            return await self._claim_and_run(account_id, job)
        except CouchError as exc:
            if not failure.unsaveable(exc):
                raise
            return await self._fail_unsaveable(job, exc)

    async def _fail_unsaveable(self, job: JobRun, exc: CouchError) -> str:
        """CouchDB refuses the job's document for its size: it can never be saved as it is, so it
        fails with that reason and the numbers it reserved (failure.py), never stays `running`."""
        log.error("job_document_too_large", job_id=job.doc["_id"], error=str(exc), successes=len(job.success))
        return (
            "failed"
            if await failure.mark_failed(self.writes, job.db, job.doc, failure.too_large(exc), list(job.success))
            else "lost"
        )

    async def _claim_and_run(self, account_id: str, job: JobRun) -> str:
        job_id = str(job.doc["_id"])
        plan = await self._plan(account_id, job)
        batches = list(self._batches(job, plan))
        # The claim declares the first two batches, keeping what a crashed run declared
        # (those numbers may be stored already).
        inflight = sorted(set(job.doc.get("pvt_inflight") or []) | set(declared(batches, -1)))
        if not await self._checkpoint(job, status="running", inflight=inflight, claim=True):
            return "lost"
        job.generation = store.claim_generation(job.doc["_rev"])
        log.info("job_started", job_id=job_id, account_id=account_id, numbers=len(job.doc.get("numbers", [])))
        self.metrics.jobs.labels(status="started").inc()
        try:
            outcome = await self._run_batches(job, plan, batches)
        finally:
            await self.warmer.settle(names.account_db(account_id))
        if outcome == "complete":
            log.info("job_complete", job_id=job_id, successes=len(job.success), failures=len(job.errors))
            # the job doc holds every result now: the batch documents are redundant
            await store.remove_batches(self.writes, job.db, job_id)
        return outcome

    async def _run_batches(self, job: JobRun, plan: Plan, batches: list[tuple[list[str], list[str]]]) -> str:
        """Batch i is declared by checkpoint i-2, so it may be written while checkpoint i-1 is
        being saved, and the reads of batch i+1 overlap both."""
        n = len(batches)
        pending: asyncio.Task[bool] | None = None
        try:
            prepared = await self._prepare_batch(job, plan, batches[0][0]) if n else None
            for i in range(n):
                assert prepared is not None
                if i:
                    await fair.pass_turn()  # another account's job may go first (fair.py)
                counts = len(job.success), len(job.errors)
                _, following = await asyncio.gather(
                    self._apply_batch(job, plan, prepared),
                    self._prepare_batch(job, plan, batches[i + 1][0]) if i + 1 < n else _none(),
                )
                count_results(self.metrics, job, counts)
                faults.point("after_numbers_written")
                if pending is not None:
                    if not await pending:
                        return "lost"
                    faults.point("after_checkpoint")
                last = i + 1 == n
                if last:
                    pending = asyncio.create_task(self._checkpoint(job, status="complete", inflight=None))
                else:  # this batch's results (what was added since `counts`), then the job doc
                    results = (
                        dict(islice(job.success.items(), counts[0], None)),
                        dict(islice(job.errors.items(), counts[1], None)),
                    )
                    pending = asyncio.create_task(
                        self._checkpoint(job, status="running", inflight=declared(batches, i), results=results)
                    )
                prepared = following
            if pending is None:
                pending = asyncio.create_task(self._checkpoint(job, status="complete", inflight=None))
            return "complete" if await pending else "lost"
        finally:
            # never leave a checkpoint saving behind us: a resumed run must start from its result
            if pending is not None and not pending.done():
                await asyncio.gather(pending, return_exceptions=True)

    async def _checkpoint(
        self,
        job: JobRun,
        *,
        status: str,
        inflight: list[str] | None,
        claim: bool = False,
        results: tuple[dict[str, str], dict[str, str]] | None = None,
    ) -> bool:
        """Save one batch's `results` (a document of their own), then the job doc (what may be
        written next; on completion every result); False when another node has the job.
        The batch document is written first: the job doc stops declaring those numbers in
        flight only once their results are stored."""
        if results is not None and (results[0] or results[1]):
            await store.save_batch(self.writes, job.db, job.doc, job.generation, job.batches_saved, *results)
            job.batches_saved += 1
            faults.point("after_batch_saved")
        job.doc.update(pvt_status=status, pvt_node=self.node, pvt_modified=names.gregorian_now())
        if inflight is None:
            job.doc.pop("pvt_inflight", None)
            job.doc.pop("pvt_recovering", None)
        else:
            job.doc["pvt_inflight"] = inflight
        complete = status == "complete"
        try:
            await store.save_raw(
                self.writes,
                job.db,
                job.doc,
                job.success if complete else job.base_success,
                job.errors if complete else job.base_errors,
            )
        except Conflict:
            log.warning("job_taken_over", job_id=job.doc["_id"], claim=claim)
            return False
        return True

    # --- planning ---------------------------------------------------------------------------
    async def _plan(self, account_id: str, job: JobRun) -> Plan:
        cfg = self.config
        rules = numbers.Rules.from_config(
            await cfg.get("number_manager", "e164_converters"), await cfg.get("number_manager", "reconcile_regex")
        )
        resource_id = str(job.doc.get("resource_id", ""))
        try:
            offnet = await self.couch.get_doc(names.OFFNET, resource_id) if resource_id else None
        except CouchError as exc:
            # only "no such resource" means local; an outage must not turn a global resource local
            if not isinstance(exc, NotFound) and exc.status != 400:
                raise
            offnet = None
        module = numbers.OTHER if offnet and not offnet.get("pvt_deleted") else numbers.LOCAL
        account_doc = await self.accounts.get(account_id) or {"_id": account_id}
        auth_id = job.doc.get("pvt_auth_account_id")
        auth_doc = await self.accounts.get(auth_id) if isinstance(auth_id, str) else None
        return Plan(account_id, resource_id, module, rules, account_doc, auth_doc, job_id=str(job.doc["_id"]))

    def _batches(self, job: JobRun, plan: Plan) -> Iterator[tuple[list[str], list[str]]]:
        """(entries, E.164 numbers this batch may write) for the entries not done yet."""
        todo, seen = [], set(job.success)
        for entry in job.doc.get("numbers") or []:
            if not isinstance(entry, str) or entry in job.errors:
                continue
            e164 = numbers.normalize(entry, plan.rules)
            if e164 in seen:
                continue  # done before a crash, or a duplicate in this submission
            seen.add(e164)
            todo.append(entry)
        size = batch_size(len(todo))
        for start in range(0, len(todo), size):
            entries = todo[start : start + size]
            candidates = [
                e for e in (numbers.normalize(x, plan.rules) for x in entries) if numbers.is_reconcilable(e, plan.rules)
            ]
            yield entries, candidates

    # --- one batch --------------------------------------------------------------------------
    async def _prepare_batch(self, job: JobRun, plan: Plan, entries: list[str]) -> Batch:
        """Per-entry checks that need no writes, and (for `knm_other`, which must know which
        numbers are new before ordering them) the stored number docs. Reads only."""
        batch = Batch()
        for entry in entries:
            e164 = numbers.normalize(entry, plan.rules)
            if not numbers.is_reconcilable(e164, plan.rules):
                batch.failed[entry] = _enc("not_reconcilable")
            elif not numbers.can_add(plan.auth_doc):
                batch.failed[entry] = _enc(numbers.forbidden())
            elif not numbers.may_reserve_for(plan.auth_doc, plan.account_doc):
                batch.failed[entry] = _enc(numbers.forbidden("assign_to"))
            else:
                batch.wanted[e164] = entry
        if plan.module == numbers.OTHER:
            batch.existing = await self.numbers.fetch(list(batch.wanted))
            batch.read = set(batch.wanted)
        return batch

    async def _apply_batch(self, job: JobRun, plan: Plan, batch: Batch) -> None:
        """Write the batch. Local numbers are written optimistically as new documents: a
        conflict means the number exists, and only those are read and decided again."""
        job.errors.update(batch.failed)
        wanted, existing = batch.wanted, batch.existing
        now = names.gregorian_now()
        to_write: dict[str, dict] = {}
        ours: dict[str, dict] = {}

        owners: dict[str, dict | None] = {}
        # knm_number:ensure_number_is_not_porting, for new numbers only: a porting number that
        # exists goes Kazoo's way for existing numbers, so its stored doc is read up front.
        porting = await self.numbers.porting(list(wanted))
        unread_porting = [n for n in porting if n not in batch.read]
        if unread_porting:
            existing.update(await self.numbers.fetch(unread_porting))
            batch.read.update(unread_porting)

        def judge(e164: str) -> None:
            stored = existing.get(e164)
            owner = owners.get(stored.get("pvt_assigned_to") or "") if stored else None
            verdict, value = decide(plan, e164, stored, now, owner, porting=e164 in porting)
            if verdict == "error":
                job.errors[wanted[e164]] = _enc(value)
            else:
                (ours if verdict == "ours" else to_write)[e164] = value

        await self._load_owners(plan, existing.values(), owners)
        for e164 in wanted:
            judge(e164)
        new = [n for n in to_write if n not in existing]
        for e164, outcome in (await carriers.acquire(self.config, plan.module, new)).items():
            if "error" in outcome:
                job.errors[wanted[e164]] = _enc(outcome["error"])
                to_write.pop(e164)
            else:
                to_write[e164] = numbers.number_doc(
                    e164, plan.account_id, plan.resource_id, plan.module, now, carrier=outcome["ok"], job_id=plan.job_id
                )
        written = await self.numbers.write(to_write)
        unread = [n for n, ok in written.items() if not ok and n not in batch.read]
        if unread:  # they exist after all: read them, decide again, write the takeable ones
            existing.update(await self.numbers.fetch(unread))
            await self._load_owners(plan, (existing[n] for n in unread if n in existing), owners)
            for e164 in unread:
                del to_write[e164], written[e164]
                judge(e164)
            written.update(await self.numbers.write({n: to_write[n] for n in unread if n in to_write}))
        for e164, ok in written.items():
            if ok:
                job.success[e164] = _enc(numbers.success_entry(to_write[e164]))
            else:
                job.errors[wanted[e164]] = _enc(numbers.number_exists(e164))
        for e164, doc in ours.items():
            job.success[e164] = _enc(numbers.success_entry(doc))
        saved = [to_write[n] for n, ok in written.items() if ok]
        await self.numbers.write_account_copies(
            plan.account_id, saved + list(ours.values()), set(ours), may_exist=set(existing)
        )
        changed = saved + list(ours.values())
        if changed:
            self.warmer.touched(names.account_db(plan.account_id))
        await self.numbers.unassign_from_prev(changed)
        if changed:  # knm_numbers:update_services: the new owner and every previous one
            await self.services.commit({plan.account_id, *(d.get("pvt_previously_assigned_to") or "" for d in changed)})

    async def _load_owners(self, plan: Plan, stored: Any, owners: dict[str, dict | None]) -> None:
        """The account docs of the accounts that hold stored numbers, where `handle_fetch`
        needs their `pvt_tree` (not for a super-duper admin, nor for our own account)."""
        if (plan.auth_doc or {}).get("pvt_superduper_admin") is True:
            return
        wanted = {d.get("pvt_assigned_to") for d in stored if d.get("pvt_state") != "available"}
        ids = [a for a in wanted - set(owners) - {plan.account_id} if isinstance(a, str) and a]
        for account_id, doc in zip(ids, await asyncio.gather(*(self.accounts.get(a) for a in ids))):
            owners[account_id] = doc


def decide(
    plan: Plan, e164: str, stored: dict | None, now: int, owner: dict | None = None, *, porting: bool = False
) -> tuple[str, Any]:
    """("ours", stored doc) | ("write", new doc) | ("error", knm error) for one number;
    `owner` is the document of the account the stored number is assigned to, `porting`
    whether a port request holds the number."""
    if stored is None and porting:
        return "error", numbers.number_is_porting(e164)
    if stored is None:
        return "write", numbers.number_doc(
            e164, plan.account_id, plan.resource_id, plan.module, now, job_id=plan.job_id
        )
    if numbers.is_ours(stored, plan.account_id, plan.resource_id, plan.job_id):
        return "ours", stored  # written by this job before a crash: a success, not rewritten
    owner = plan.account_doc if stored.get("pvt_assigned_to") == plan.account_id else owner
    if not numbers.may_fetch(stored, plan.auth_doc, plan.account_doc, owner):
        return "error", numbers.unauthorized()  # another hierarchy's number: 403, not 409
    if stored.get("pvt_state") not in numbers.TAKEABLE_STATES:
        return "error", numbers.number_exists(e164, visible_holder(plan, stored, owner))
    if stored.get("pvt_state") != "available":
        return "error", numbers.invalid_state_transition(e164, stored["pvt_state"])
    return "write", numbers.number_doc(
        e164, plan.account_id, plan.resource_id, plan.module, now, existing=stored, job_id=plan.job_id
    )


def visible_holder(plan: Plan, stored: dict, owner: dict | None) -> str | None:
    """The account holding an existing number, for its number_exists error, when everyone who may
    read the job (its account, that account's ancestors) may see that account: the job's own
    account or one of its descendants. Otherwise None (Kazoo's error as it is)."""
    holder = stored.get("pvt_assigned_to")
    if not isinstance(holder, str) or not holder:
        return None
    if holder == plan.account_id or plan.account_id in ((owner or {}).get("pvt_tree") or []):
        return holder
    return None


def count_results(metrics: Metrics, job: JobRun, before: tuple[int, int]) -> None:
    """Every result a batch added, counted once whatever its outcome (the checks before any
    write, `not_reconcilable` included, as much as the writes' successes and errors)."""
    metrics.numbers.labels(result="success").inc(len(job.success) - before[0])
    metrics.numbers.labels(result="error").inc(len(job.errors) - before[1])


async def _none() -> None:
    return None


def declared(batches: list[tuple[list[str], list[str]]], i: int) -> list[str]:
    """What checkpoint i declares in flight: the E.164 numbers of the two batches after it."""
    return [e164 for batch in batches[i + 1 : i + 3] for e164 in batch[1]]


@dataclass
class Batch:
    wanted: dict[str, str] = field(default_factory=dict)  # E.164 → entry as submitted
    existing: dict[str, dict] = field(default_factory=dict)  # stored number docs
    read: set[str] = field(default_factory=set)  # numbers whose stored doc was read up front
    failed: dict[str, str] = field(default_factory=dict)  # entry → encoded error


@dataclass(frozen=True)
class Plan:
    account_id: str
    resource_id: str
    module: str
    rules: numbers.Rules
    account_doc: dict
    auth_doc: dict | None
    job_id: str = ""
