"""Job documents in the month databases (cb_resources jobs, kazoo_modb).

Stored exactly as Kazoo stores them: id `YYYYMM-` + 16 hex, `pvt_type:
resource_job`, `pvt_status` pending → running → complete, results under
`success` (keyed by E.164) and `errors` (keyed by the entry as submitted).
Claims go through CouchDB's revision check, so one node at a time runs a job.

While a job runs, each batch's results live in a small document of their own next to it
(`<job_id>-batch-<run>-<n>`, `pvt_type: resource_job_batch`, which no Kazoo MODB view maps),
so a checkpoint never rewrites the results gathered so far; the job document receives
Kazoo's `success`/`errors` maps once, when it completes, and the batch documents are then
removed. A `GET` of a running job merges them.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from .. import jsonc
from ..storage import docs, names
from ..storage.couch import Conflict, CouchClient, NotFound
from ..storage.writes import Writes

JOB_TYPE = "resource_job"
BATCH_TYPE = "resource_job_batch"
_JOB_ID = re.compile(r"^(\d{4})(\d{1,2})-")


def new_job_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now.year:04d}{now.month:02d}-{secrets.token_hex(8)}"


def job_month(job_id: str) -> tuple[int, int] | None:
    """(year, month) from a job id, None when it is not of Kazoo's form."""
    m = _JOB_ID.match(job_id)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return int(m.group(1)), int(m.group(2))


def job_db(account_id: str, job_id: str) -> str | None:
    month = job_month(job_id)
    return names.modb(account_id, *month) if month else None


def to_api(doc: dict, *, with_status: bool) -> dict:
    """The job as the API shows it: Kazoo's stored `success` is shown as `successes` (the key
    Kazoo's resources API documentation shows)."""
    out = docs.to_public(doc)
    out["successes"] = out.pop("success", {})
    out.setdefault("errors", {})
    if with_status:
        out["timestamp"] = doc.get("pvt_created")
        out["status"] = doc.get("pvt_status")
    if isinstance(doc.get("pvt_failure"), dict):  # why a `failed` job ended (failure.py)
        out["failure"] = doc["pvt_failure"]
    return out


async def create(writes: Writes, account_id: str, data: dict, writer: docs.Writer) -> tuple[str, dict]:
    """Save a new pending job in the account's current MODB (created with its views when missing)."""
    job_id = new_job_id()
    db = job_db(account_id, job_id)
    assert db is not None
    doc: dict[str, Any] = {
        "_id": job_id,
        **data,
        "errors": {},
        "success": {},
        "pvt_status": "pending",
        "pvt_type": JOB_TYPE,
    }
    docs.update_pvt_parameters(doc, db, writer)
    await writes.save(db, doc, msg_id=writer.request_id, create_db=True)
    return db, doc


async def load(couch: CouchClient, db: str, job_id: str) -> dict | None:
    try:
        doc = await couch.get_doc(db, job_id)
    except NotFound:
        return None
    if doc.get("pvt_deleted") or doc.get("pvt_type") != JOB_TYPE:
        return None
    return doc


def encode_doc(doc: dict, success: dict[str, str], errors: dict[str, str]) -> bytes:
    """The job doc as JSON, with results kept as pre-encoded entries (memory stays flat)."""
    head = jsonc.dumps_str({k: v for k, v in doc.items() if k not in ("success", "errors")})
    parts = [head[:-1], ',"success":{']
    parts.append(",".join(f"{_enc(k)}:{v}" for k, v in success.items()))
    parts.append('},"errors":{')
    parts.append(",".join(f"{_enc(k)}:{v}" for k, v in errors.items()))
    parts.append("}}")
    return "".join(parts).encode("utf-8")


def _enc(value: Any) -> str:
    return jsonc.dumps_str(value)


# --- batch documents ------------------------------------------------------------------------
def batch_prefix(job_id: str) -> str:
    return f"{job_id}-batch-"


def batch_id(job_id: str, run: int, n: int) -> str:
    """`run` is the generation of the claim's revision: two executors of one job never share it
    (the claim is a revision check), so their batch ids never collide; padded, ids sort in order."""
    return f"{batch_prefix(job_id)}{run:06d}-{n:06d}"


def claim_generation(rev: str) -> int:
    return int(rev.split("-", 1)[0])


def pack_success(success: dict[str, str]) -> tuple[list[dict], dict[str, str]]:
    """Group equal encoded success entries (knm_phone_number:to_public_json carries no `id`: one
    batch's entries are the same), so a batch document holds ~15 bytes per number, not ~200.
    Returns (groups [{"entry": entry, "numbers": [...]}], entries kept as they are: those no
    other entry equals)."""
    by_value: dict[str, list[str]] = {}
    for key, value in success.items():
        by_value.setdefault(value, []).append(key)
    groups = [{"entry": jsonc.loads(v), "numbers": keys} for v, keys in by_value.items() if len(keys) > 1]
    literal = {keys[0]: v for v, keys in by_value.items() if len(keys) == 1}
    return groups, literal


def unpack_success(groups: list[dict], literal: dict[str, str]) -> dict[str, str]:
    """The encoded entries pack_success was given, byte for byte (as sets of keys and values)."""
    out: dict[str, str] = {}
    for group in groups:
        value = _enc(group["entry"])
        for key in group["numbers"]:
            out[key] = value
    out.update(literal)
    return out


def encode_batch(job: dict, run: int, n: int, success: dict[str, str], errors: dict[str, str]) -> tuple[dict, bytes]:
    """(head, body) of one batch document: its results, the success entries grouped."""
    groups, literal = pack_success(success)
    head = {
        "_id": batch_id(job["_id"], run, n),
        "pvt_type": BATCH_TYPE,
        "pvt_job_id": job["_id"],
        "pvt_account_id": job.get("pvt_account_id"),
        "pvt_created": names.gregorian_now(),
        "success_groups": groups,
    }
    return head, encode_doc(head, literal, errors)


async def save_batch(
    writes: Writes, db: str, job: dict, run: int, n: int, success: dict[str, str], errors: dict[str, str]
) -> dict:
    """Write one batch's results (a new document); returns its head with `_rev`."""
    head, body = encode_batch(job, run, n, success, errors)
    await writes.save_encoded(db, head, body)
    return head


async def load_batches(couch: CouchClient, db: str, job_id: str) -> list[dict]:
    """The job's batch documents, in the order they were written."""
    prefix = batch_prefix(job_id)
    rows = await couch.all_docs(db, startkey=prefix, endkey=prefix + "\ufff0", include_docs=True)
    return [
        r["doc"]
        for r in rows
        if r.get("doc") and r["doc"].get("pvt_type") == BATCH_TYPE and r["doc"].get("pvt_job_id") == job_id
    ]


def batch_results(batches: list[dict]) -> tuple[dict[str, str], dict[str, str]]:
    """(success, errors) of the batch documents, values encoded."""
    success: dict[str, str] = {}
    errors: dict[str, str] = {}
    for b in batches:
        success.update(
            unpack_success(b.get("success_groups") or [], {k: _enc(v) for k, v in (b.get("success") or {}).items()})
        )
        errors.update((k, _enc(v)) for k, v in (b.get("errors") or {}).items())
    return success, errors


async def remove_batches(writes: Writes, db: str, job_id: str) -> int:
    """Delete the job's batch documents once the completed job document holds every result
    (also any an executor that lost the job wrote meanwhile); returns how many went."""
    prefix = batch_prefix(job_id)
    rows = await writes.couch.all_docs(db, startkey=prefix, endkey=prefix + "\ufff0")
    gone = 0
    for row in rows:
        if "value" in row and not row["value"].get("deleted"):
            try:
                await writes.delete(db, {"_id": row["id"], "_rev": row["value"]["rev"], "pvt_type": BATCH_TYPE})
                gone += 1
            except (NotFound, Conflict):
                pass
    return gone


async def load_merged(couch: CouchClient, db: str, job_id: str) -> dict | None:
    """The job as Kazoo stores it: a running job's results gathered from its batch documents.
    When it completes between the two reads, the completed document is the answer."""
    doc = await load(couch, db, job_id)
    if doc is None or doc.get("pvt_status") == "complete":
        return doc
    batches = await load_batches(couch, db, job_id)
    if not batches:
        return doc
    again = await load(couch, db, job_id)
    if again is None or again.get("pvt_status") == "complete":
        return again  # completed (and its batch documents removed) meanwhile
    success, errors = batch_results(batches)
    doc["success"] = {**(doc.get("success") or {}), **{k: jsonc.loads(v) for k, v in success.items()}}
    doc["errors"] = {**(doc.get("errors") or {}), **{k: jsonc.loads(v) for k, v in errors.items()}}
    return doc


async def save_raw(writes: Writes, db: str, doc: dict, success: dict[str, str], errors: dict[str, str]) -> str:
    """Save the job (rev check included); returns the new rev. Raises Conflict when someone else saved it."""
    return await writes.save_encoded(db, doc, encode_doc(doc, success, errors))


async def claim(writes: Writes, db: str, doc: dict, node: str, **extra: Any) -> bool:
    """Mark the job running on this node through the revision check; False when another node won."""
    doc.update(pvt_status="running", pvt_node=node, pvt_modified=names.gregorian_now(), **extra)
    try:
        await writes.save(db, doc)
    except Conflict:
        return False
    return True
