"""Jobs that can never finish end `failed`, with their reason, instead of staying `running`
forever (a running job is resumed by every recovery pass, and `jobs add` waits for it).

Two ways in: the job's document cannot be saved (CouchDB answers 413 `document_too_large`: the
runner), or the recovery loop has resumed it `job_recovery_max_attempts` times (recovery.py).
The numbers a failed job reserved stay reserved for its account (docs/decisions.md): its
document lists them under `pvt_failure.reserved`, and the API shows `pvt_failure` as `failure`.
"""

from __future__ import annotations

from typing import Any

import structlog

from ..storage import names
from ..storage.couch import Conflict, CouchError
from ..storage.writes import Writes

log = structlog.get_logger(__name__)
FAILED = "failed"


def unsaveable(exc: CouchError) -> bool:
    """CouchDB refused the job's document for its size: saving it again can never succeed."""
    return exc.status == 413


def too_large(exc: CouchError) -> dict[str, Any]:
    return {
        "error": "document_too_large",
        "message": "the job's document with its results is larger than CouchDB's max_document_size",
        "cause": exc.error or "document_too_large",
    }


async def mark_failed(
    writes: Writes, db: str, doc: dict, reason: dict[str, Any], reserved: list[str] | None = None
) -> bool:
    """Save the job as failed with `reason` (and the numbers it reserved, when known); False when
    another node saved it meanwhile. Without the results that made it too large: should even the
    list of reserved numbers not fit, their count stays."""
    failure = {**reason, "failed_at": names.gregorian_now()}
    doc.update(pvt_status=FAILED, pvt_modified=names.gregorian_now())
    doc.setdefault("success", {})
    doc.setdefault("errors", {})
    for key in ("pvt_inflight", "pvt_recovering"):
        doc.pop(key, None)
    variants = (
        [{**failure, "reserved": reserved}, {**failure, "reserved_count": len(reserved)}] if reserved else [failure]
    )
    for i, variant in enumerate(variants):
        doc["pvt_failure"] = variant
        try:
            await writes.save(db, doc)
        except Conflict:
            log.warning("job_failed_taken_over", job_id=doc["_id"])
            return False
        except CouchError as exc:
            if unsaveable(exc) and i + 1 < len(variants):
                continue
            raise
        log.warning(
            "job_marked_failed", job_id=doc["_id"], db=db, error=reason.get("error"), reserved=len(reserved or [])
        )
        return True
    return False
