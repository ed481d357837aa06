"""The one failures CSV (docs/number-files.md): the rows the reader skipped and the numbers jobs
failed, `number,reason,message,cause,line,job_id`. The console's `failuresCsv` (ui/numbers.js)
writes the same bytes; both pass tests/fixtures/number_files/failures.json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from .number_file import Skipped

COLUMNS = ("number", "reason", "message", "cause", "line", "job_id")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PLAIN_NUMBER = re.compile(r"\+?[0-9]+")
FORMULA_START = ("=", "+", "-", "@")
# Kazoo stores some job errors as a bare string (cb_jobs_listener): a plain-words text for each
REASON_TEXT = {
    "not_reconcilable": "Kazoo's number manager does not accept it as a number (reconcile_regex)",
}


def reason_of(error: Any) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        return str(error.get("error") or error.get("reason") or "error")
    return "error"


def message_of(error: Any) -> str:
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        holder = error.get("assigned_to")
        if reason_of(error) == "number_exists" and isinstance(holder, str) and holder:
            message += f" (held by account {holder})"
        return message
    return REASON_TEXT.get(reason_of(error), "")


def job_failure(number: str, error: Any, job_id: str, line: int | None = None) -> dict[str, Any]:
    """One failed number of a job as a failures-CSV row."""
    cause = error.get("cause") if isinstance(error, dict) else None
    return {
        "number": number,
        "reason": reason_of(error),
        "message": message_of(error),
        "cause": cause,
        "line": line,
        "job_id": job_id,
    }


def skipped_row(skipped: Skipped) -> dict[str, Any]:
    return {
        "number": skipped.value,
        "reason": skipped.reason,
        "message": skipped.message,
        "cause": None,
        "line": skipped.line,
        "job_id": None,
    }


def cell(value: Any) -> str:
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bool) or not isinstance(value, int | float):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    else:
        text = str(value)
    text = CONTROL.sub("", text)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        text = "'" + text  # a spreadsheet would run it as a formula
    if "," in text or '"' in text:
        text = '"' + text.replace('"', '""') + '"'
    return text


def failures_csv(rows: Iterable[dict[str, Any]]) -> str:
    lines = [",".join(COLUMNS)]
    lines += [",".join(cell(row.get(c)) for c in COLUMNS) for row in rows]
    return "\r\n".join(lines) + "\r\n"
