"""Runs one bulk number job (the worker pool that schedules runs is pool.py).

A job is claimed through CouchDB's revision check, then its numbers are handled in batches:
existing number docs read with one `_all_docs` per number database, new ones written with one
`_bulk_docs`. Every N batches (`job_fold_batches`, system_config `crossbar.resources`) the
results so far are folded into the job document itself, in Kazoo's `success`/`errors` maps,
so a Kazoo node's `GET`, its `jobs_listing` view and its recovery see the job's progress; the
last fold marks the job `complete`. Each fold is saved while the next batch runs.

Every number document a job writes carries its job id (`pvt_job_id`), so after a crash
anywhere the resumed job treats a stored number with its own id as its own success: results
that were not folded yet are found again, and nothing is written twice, lost, or reported as
an error by the job that added it, and no other job (same account and resource or not) can
pass a number off as its own. A failed fold (someone else saved the job) stops this executor:
the other node owns it now.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog

from ..metrics import Metrics
from ..storage import names, resource_docs
from ..storage.accounts import Accounts
from ..storage.couch import Conflict, CouchError
from ..storage.system_config import SystemConfig
from ..storage.writes import Writes, bind_msg_id
from . import carriers, failure, fair, faults, numbers, store
from .number_store import NumberStore
from .service_quantities import ServiceQuantities
from .view_warmer import ViewWarmer

log = structlog.get_logger(__name__)
CATEGORY = "crossbar.resources"
enc = store.enc


class Outcome(StrEnum):
    """What a run of a job came to (the pool's metrics and the delegate message's ack)."""

    COMPLETE = "complete"
    SKIPPED = "skipped"  # complete already, or running on another node
    LOST = "lost"  # another node saved the job meanwhile: it owns it now
    MISSING = "missing"  # no such job
    FAILED = "failed"  # the run raised (the pool's verdict)


class Slicer:
    """Hands the event loop back (`await asyncio.sleep(0)`) once a loop over a batch's numbers
    has held it for `budget_s`, so other requests (another account's GET) are served between
    slices of a batch's CPU work. Measured: judging and recording a number costs 20–60 µs, so
    a 2,000-number batch held the loop for up to ~350 ms in one piece; 5 ms slices keep the
    added wait of an interactive request near one slice."""

    BUDGET_S = 0.005

    def __init__(self) -> None:
        self.started = time.perf_counter()

    async def tick(self) -> None:
        if time.perf_counter() - self.started >= self.BUDGET_S:
            await asyncio.sleep(0)
            self.started = time.perf_counter()


def batch_size(total: int) -> int:
    # Smaller batches overlap reads, writes and folds better and keep a crash's redo small;
    # bigger ones save round trips.
    return max(250, min(2_000, total // 4 or 1))


@dataclass
class JobRun:
    """One job in progress: the doc without its results, and the results pre-encoded (the
    job doc is encoded from them at every fold: memory stays flat)."""

    db: str
    doc: dict
    success: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # accounts whose services documents need a recount before the next fold
    recount: set[str] = field(default_factory=set)

    def take_recount(self) -> set[str]:
        accounts, self.recount = self.recount, set()
        return accounts

    @classmethod
    def from_doc(cls, db: str, doc: dict) -> JobRun:
        success = {k: enc(v) for k, v in (doc.pop("success", None) or {}).items()}
        errors = {k: enc(v) for k, v in (doc.pop("errors", None) or {}).items()}
        return cls(db, doc, success, errors)


@dataclass(frozen=True)
class Folding:
    """When results go into the job document: every `every` batches, while the encoded
    document stays within `max_bytes` (CouchDB's max_document_size)."""

    every: int
    max_bytes: int

    def due(self, i: int, n: int) -> bool:
        """After batch i of n (the last batch completes the job instead)."""
        return (i + 1) % self.every == 0 and i + 1 < n


class JobRunner:
    """Runs (or resumes) one job at a time per call; knows nothing of scheduling."""

    def __init__(
        self, writes: Writes, config: SystemConfig, accounts: Accounts, node: str, metrics: Metrics | None = None
    ):
        self.writes, self.couch, self.config, self.accounts, self.node = writes, writes.couch, config, accounts, node
        self.metrics = metrics or Metrics()
        self.numbers = NumberStore(writes)
        self.services = ServiceQuantities(writes, config)
        self.warmer = ViewWarmer(self.couch)  # the account's listing views, refreshed after each job

    async def close(self) -> None:
        """Stop what runs after jobs (the listing refreshes)."""
        await self.warmer.close()

    # --- one job ----------------------------------------------------------------------------
    async def run(self, account_id: str, job_id: str, *, claimed: bool = False) -> Outcome:
        """Run (or resume) a job; returns what happened."""
        db = store.job_db(account_id, job_id)
        doc = await store.load(self.couch, db, job_id) if db else None
        if doc is None or db is None:
            return Outcome.MISSING
        bind_msg_id(doc.get("pvt_request_id"))  # this run's change events carry the job's request id
        status = doc.get("pvt_status")
        mine = claimed and status == "running" and doc.get("pvt_node") == self.node
        if status in ("complete", failure.FAILED) or (status == "running" and not mine):
            return Outcome.SKIPPED
        job = JobRun.from_doc(db, doc)  # the results folded before a crash: those entries are done
        try:
            return await self._claim_and_run(account_id, job)
        except CouchError as exc:
            if not failure.unsaveable(exc):
                raise
            return await self._fail_unsaveable(job, exc)

    async def _fail_unsaveable(self, job: JobRun, exc: CouchError) -> Outcome:
        """CouchDB refuses the job's document for its size: it can never be saved as it is, so it
        fails with that reason and the numbers it reserved (failure.py), never stays `running`."""
        log.error("job_document_too_large", job_id=job.doc["_id"], error=str(exc), successes=len(job.success))
        reason = {**failure.too_large(exc), "failed_numbers": len(job.errors)}
        failed = await failure.mark_failed(self.writes, job.db, job.doc, reason, list(job.success))
        return Outcome.FAILED if failed else Outcome.LOST

    async def _claim_and_run(self, account_id: str, job: JobRun) -> Outcome:
        job_id = str(job.doc["_id"])
        plan = await self._plan(account_id, job)
        batches = list(self._batches(job, plan))
        if not await self._save(job, "running", claim=True):
            return Outcome.LOST
        log.info("job_started", job_id=job_id, account_id=account_id, numbers=len(job.doc.get("numbers", [])))
        self.metrics.jobs.labels(status="started").inc()
        try:
            outcome = await self._run_batches(job, plan, batches)
        finally:
            # after the job, not on its clock: indexing its copies as batches landed cost CouchDB 3
            # as much CPU as writing them (bench P2, docs/decisions.md)
            self.warmer.touched(names.account_db(account_id))
        if outcome is Outcome.COMPLETE:
            log.info("job_complete", job_id=job_id, successes=len(job.success), failures=len(job.errors))
        return outcome

    async def _run_batches(self, job: JobRun, plan: Plan, batches: list[list[str]]) -> Outcome:
        """Batch i+1 is read while batch i is written; batch i's account copies are written while
        batch i+1's numbers are, and a fold is saved while the next batch runs (once the copies
        of the numbers it reports are written). The job completes after the last batch."""
        n = len(batches)
        folding: asyncio.Task[bool] | None = None
        copies: asyncio.Task[None] | None = None
        try:
            prepared = await self._prepare_batch(plan, batches[0]) if n else None
            for i in range(n):
                assert prepared is not None
                if i:
                    await fair.pass_turn()  # another account's job may go first (fair.py)
                (work, saved), following = await asyncio.gather(
                    self._apply_batch(job, plan, prepared),
                    self._prepare_batch(plan, batches[i + 1]) if i + 1 < n else _none(),
                )
                faults.point("after_numbers_written")
                prepared = following
                if copies is not None:
                    await copies  # one batch's copies in flight at a time
                copies = asyncio.create_task(self._after_write(plan, work, saved))
                if plan.folding.due(i, n):
                    if folding is not None and not await folding:
                        return Outcome.LOST
                    # encoded now, on the revision the previous fold saved
                    body = self._encode(job, "running")
                    folding = asyncio.create_task(self._fold(job, plan, body, job.take_recount(), copies))
            if copies is not None:
                await copies
            if folding is not None and not await folding:
                return Outcome.LOST
            await self.services.commit(job.take_recount())
            return Outcome.COMPLETE if await self._save(job, "complete") else Outcome.LOST
        finally:
            # never leave a write behind us: a resumed run must start from its result
            pending = [t for t in (copies, folding) if t is not None and not t.done()]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _fold(self, job: JobRun, plan: Plan, body: bytes, recount: set[str], copies: asyncio.Task[None]) -> bool:
        """Save `body`, the job doc with the results so far, once the account copies of its
        numbers are written and the services of the accounts they changed are recounted
        (knm_numbers:update_services: the new owner and every previous one; once per fold, not
        per batch); False when another node has the job. A document that would outgrow
        CouchDB's max_document_size is not saved while running: the results stay here until
        the job completes."""
        await copies
        await self.services.commit(recount)
        if len(body) > plan.folding.max_bytes:
            log.warning("job_fold_too_big", job_id=job.doc["_id"], bytes=len(body), limit=plan.folding.max_bytes)
            return True
        return await self._save(job, "running", body=body)

    def _encode(self, job: JobRun, status: str) -> bytes:
        job.doc.update(pvt_status=status, pvt_node=self.node, pvt_modified=names.gregorian_now())
        job.doc.pop("pvt_inflight", None)  # an earlier version's checkpoint field
        if status == "complete":
            job.doc.pop("pvt_recovering", None)
        return store.encode_doc(job.doc, job.success, job.errors)

    async def _save(self, job: JobRun, status: str, *, claim: bool = False, body: bytes | None = None) -> bool:
        """Save the job doc with every result so far; False when another node has the job."""
        body = body if body is not None else self._encode(job, status)
        try:
            await store.save_encoded(self.writes, job.db, job.doc, body)
        except Conflict:
            log.warning("job_taken_over", job_id=job.doc["_id"], claim=claim)
            return False
        if not claim:
            faults.point("after_checkpoint")
        return True

    # --- planning ---------------------------------------------------------------------------
    async def _plan(self, account_id: str, job: JobRun) -> Plan:
        cfg = self.config
        rules = numbers.Rules.from_config(
            await cfg.get("number_manager", "e164_converters"), await cfg.get("number_manager", "reconcile_regex")
        )
        resource_id = str(job.doc.get("resource_id", ""))
        # cb_jobs_listener:select_carrier_module: a resource in offnet is ordered through knm_other
        offnet = await resource_docs.find(self.couch, names.OFFNET, resource_id)
        module = numbers.OTHER if offnet is not None else numbers.LOCAL
        account_doc = await self.accounts.get(account_id) or {"_id": account_id}
        auth_id = job.doc.get("pvt_auth_account_id")
        auth_doc = await self.accounts.get(auth_id) if isinstance(auth_id, str) else None
        folding = Folding(
            max(1, await cfg.setting_int(CATEGORY, "job_fold_batches")),
            await cfg.setting_int(CATEGORY, "job_document_max_bytes"),
        )
        return Plan(account_id, resource_id, module, rules, account_doc, auth_doc, str(job.doc["_id"]), folding)

    def _batches(self, job: JobRun, plan: Plan) -> Iterator[list[str]]:
        """The entries not done yet, in batches."""
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
            yield todo[start : start + size]

    # --- one batch --------------------------------------------------------------------------
    async def _prepare_batch(self, plan: Plan, entries: list[str]) -> Batch:
        """Per-entry checks that need no writes, and (for `knm_other`, which must know which
        numbers are new before ordering them) the stored number docs. Reads only."""
        batch, slicer = Batch(), Slicer()
        for entry in entries:
            await slicer.tick()
            e164 = numbers.normalize(entry, plan.rules)
            if not numbers.is_reconcilable(e164, plan.rules):
                batch.failed[entry] = enc("not_reconcilable")
            elif not numbers.can_add(plan.auth_doc):
                batch.failed[entry] = enc(numbers.forbidden())
            elif not numbers.may_reserve_for(plan.auth_doc, plan.account_doc):
                batch.failed[entry] = enc(numbers.forbidden("assign_to"))
            else:
                batch.wanted[e164] = entry
        if plan.module == numbers.OTHER:
            batch.existing = await self.numbers.fetch(list(batch.wanted))
            batch.read = set(batch.wanted)
        return batch

    async def _apply_batch(self, job: JobRun, plan: Plan, batch: Batch) -> tuple[BatchWork, list[dict]]:
        """Write the batch's number documents and record its results; returns what the
        after-write steps need (the documents saved). Local numbers are written optimistically
        as new documents: a conflict means the number exists, and only those are read and
        decided again."""
        done_before = len(job.success), len(job.errors)
        job.errors.update(batch.failed)
        work = BatchWork(batch, names.gregorian_now())
        await self._read_porting(work)
        await self._load_owners(plan, batch.existing.values(), work.owners)
        slicer = Slicer()
        for e164 in batch.wanted:
            await slicer.tick()
            self._judge(job, plan, work, e164)
        await self._acquire_new(job, plan, work)
        written = await self._write_numbers(job, plan, work)
        await self._record(job, work, written)
        self.metrics.numbers.labels(result="success").inc(len(job.success) - done_before[0])
        self.metrics.numbers.labels(result="error").inc(len(job.errors) - done_before[1])
        saved = [work.to_write[n] for n, ok in written.items() if ok]
        changed = saved + list(work.ours.values())
        # knm_numbers:update_services at the next fold: the new owner and every previous one
        job.recount.update({plan.account_id, *(d.get("pvt_previously_assigned_to") or "" for d in changed)})
        return work, saved

    async def _read_porting(self, work: BatchWork) -> None:
        """knm_number:ensure_number_is_not_porting, for new numbers only: a porting number that
        exists goes Kazoo's way for existing numbers, so its stored doc is read up front."""
        batch = work.batch
        work.porting = await self.numbers.porting(list(batch.wanted))
        unread = [n for n in work.porting if n not in batch.read]
        if unread:
            batch.existing.update(await self.numbers.fetch(unread))
            batch.read.update(unread)

    def _judge(self, job: JobRun, plan: Plan, work: BatchWork, e164: str) -> None:
        """Kazoo's verdict on one number: an error, ours already, or a document to write."""
        stored = work.batch.existing.get(e164)
        owner = work.owners.get(stored.get("pvt_assigned_to") or "") if stored else None
        verdict, value = decide(plan, e164, stored, work.now, owner, porting=e164 in work.porting)
        if verdict == "error":
            job.errors[work.batch.wanted[e164]] = enc(value)
        else:
            (work.ours if verdict == "ours" else work.to_write)[e164] = value

    async def _acquire_new(self, job: JobRun, plan: Plan, work: BatchWork) -> None:
        """The carrier's answer for the new numbers (knm_other orders them; knm_local takes them)."""
        new = [n for n in work.to_write if n not in work.batch.existing]
        slicer = Slicer()
        for e164, outcome in (await carriers.acquire(self.config, plan.module, new)).items():
            await slicer.tick()
            if "error" in outcome:
                job.errors[work.batch.wanted[e164]] = enc(outcome["error"])
                work.to_write.pop(e164)
            elif outcome["ok"]:  # the carrier's data (knm_other): the document gets it
                work.to_write[e164] = numbers.number_doc(
                    e164,
                    plan.account_id,
                    plan.resource_id,
                    plan.module,
                    work.now,
                    carrier=outcome["ok"],
                    job_id=plan.job_id,
                )

    async def _write_numbers(self, job: JobRun, plan: Plan, work: BatchWork) -> dict[str, bool]:
        """Write the number docs; those that turn out to exist after all (a conflict) are read,
        decided again, and the takeable ones written. {e164: saved}."""
        batch = work.batch
        written = await self.numbers.write(work.to_write)
        unread = [n for n, ok in written.items() if not ok and n not in batch.read]
        if unread:
            batch.existing.update(await self.numbers.fetch(unread))
            await self._load_owners(plan, (batch.existing[n] for n in unread if n in batch.existing), work.owners)
            for e164 in unread:
                del work.to_write[e164], written[e164]
                self._judge(job, plan, work, e164)
            written.update(await self.numbers.write({n: work.to_write[n] for n in unread if n in work.to_write}))
        return written

    async def _record(self, job: JobRun, work: BatchWork, written: dict[str, bool]) -> None:
        slicer = Slicer()
        for e164, ok in written.items():
            await slicer.tick()
            if ok:
                job.success[e164] = enc(numbers.success_entry(work.to_write[e164]))
            else:
                job.errors[work.batch.wanted[e164]] = enc(numbers.number_exists(e164))
        for e164, doc in work.ours.items():
            job.success[e164] = enc(numbers.success_entry(doc))

    async def _after_write(self, plan: Plan, work: BatchWork, saved: list[dict]) -> None:
        """What follows a save in knm: the account's copies, the previous owners' copies removed
        (the services recount waits for the next fold)."""
        changed = saved + list(work.ours.values())
        await self.numbers.write_account_copies(
            plan.account_id, changed, set(work.ours), may_exist=set(work.batch.existing)
        )
        if not changed:
            return
        await self.numbers.unassign_from_prev(changed)

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


async def _none() -> None:
    return None


@dataclass
class Batch:
    wanted: dict[str, str] = field(default_factory=dict)  # E.164 → entry as submitted
    existing: dict[str, dict] = field(default_factory=dict)  # stored number docs
    read: set[str] = field(default_factory=set)  # numbers whose stored doc was read up front
    failed: dict[str, str] = field(default_factory=dict)  # entry → encoded error


@dataclass
class BatchWork:
    """What writing one batch decides along the way."""

    batch: Batch
    now: int
    porting: set[str] = field(default_factory=set)  # numbers a port request holds
    owners: dict[str, dict | None] = field(default_factory=dict)  # account docs of stored numbers' holders
    to_write: dict[str, dict] = field(default_factory=dict)  # E.164 → number doc to save
    ours: dict[str, dict] = field(default_factory=dict)  # E.164 → stored doc this job wrote before


@dataclass(frozen=True)
class Plan:
    account_id: str
    resource_id: str
    module: str
    rules: numbers.Rules
    account_doc: dict
    auth_doc: dict | None
    job_id: str
    folding: Folding
