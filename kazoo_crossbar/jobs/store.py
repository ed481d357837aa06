"""Job documents in the month databases (cb_resources jobs, kazoo_modb).

Stored exactly as Kazoo stores them: id `YYYYMM-` + 16 hex, `pvt_type:
resource_job`, `pvt_status` pending → running → complete, results under
`success` (keyed by E.164) and `errors` (keyed by the entry as submitted).
Claims go through CouchDB's revision check, so one node at a time runs a job.

While a job runs, its results are folded into the job document every few batches
(runner.py), so a Kazoo node's `GET`, the `jobs_listing` view and Kazoo's recovery see the
job's progress in Kazoo's own fields; the job document is all there is to a job.
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
    """The job as the API shows it: Kazoo 4.3's code stores and answers `success`, its resources
    API documentation shows `successes`; both are answered (the same object), so clients
    written against either work."""
    out = docs.to_public(doc)
    out["success"] = out["successes"] = out.get("success") or {}
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
    parts.append(",".join(f"{enc(k)}:{v}" for k, v in success.items()))
    parts.append('},"errors":{')
    parts.append(",".join(f"{enc(k)}:{v}" for k, v in errors.items()))
    parts.append("}}")
    return "".join(parts).encode("utf-8")


def enc(value: Any) -> str:
    """One result entry (or key) as JSON: results are kept encoded while a job runs."""
    return jsonc.dumps_str(value)


def decoded(entries: dict[str, str]) -> dict[str, Any]:
    return {k: jsonc.loads(v) for k, v in entries.items()}


async def save_encoded(writes: Writes, db: str, doc: dict, body: bytes) -> str:
    """Save the job encoded by encode_doc (rev check included); returns the new rev. Raises
    Conflict when someone else saved it."""
    return await writes.save_encoded(db, doc, body)


async def claim(writes: Writes, db: str, doc: dict, node: str, **extra: Any) -> bool:
    """Mark the job running on this node through the revision check; False when another node won."""
    doc.update(pvt_status="running", pvt_node=node, pvt_modified=names.gregorian_now(), **extra)
    try:
        await writes.save(db, doc)
    except Conflict:
        return False
    return True
