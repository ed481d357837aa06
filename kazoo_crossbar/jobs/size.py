"""How large a job's document can grow, so a job that could never be saved is refused when it is
created (CouchDB refuses a document over its `max_document_size` with 413, and a job that cannot
be saved can never finish).

The document holds the request's fields, the private fields its saves add, and per number the
largest result it may receive (its success entry under the E.164 key, or an error under the entry
as submitted) and its place in `pvt_inflight`. The entries are measured by building them with the
functions that build them during the run (numbers.success_entry, numbers.number_exists) for the
job's resource; a taken-over `available` number keeps the public fields stored with it, which no
request can bound: the runner fails such a job with its reason (failure.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import jsonc
from . import numbers

PRIVATE_ROOM = 2048  # `_id`, `_rev`, `pvt_*` (status, node, request id, recovery, ...), empty result maps
E164_GROWTH = 2  # a converter may prefix an entry with `+1`
ACCOUNT_ID = "0" * 32
NOW = 63_900_000_000  # an 11-digit Gregorian second, as every timestamp of this era


@dataclass(frozen=True)
class JobSize:
    """`fields`: bytes of the document without its numbers; `per_number`: each number's bytes in
    `numbers`, its results and `pvt_inflight`, in submission order."""

    fields: dict[str, int]
    per_number: list[int]

    @property
    def total(self) -> int:
        return PRIVATE_ROOM + sum(self.fields.values()) + sum(self.per_number)

    def numbers_that_fit(self, limit: int) -> int:
        """How many of the numbers (the first ones) fit beside the other fields."""
        room = limit - PRIVATE_ROOM - sum(self.fields.values())
        fit = 0
        for cost in self.per_number:
            room -= cost
            if room < 0:
                break
            fit += 1
        return fit


def success_room(resource_id: str) -> int:
    """The longest success entry a new number gets on this resource (features `local` and
    `locality`, every `_read_only` field)."""
    doc = numbers.number_doc("+1", ACCOUNT_ID, resource_id, numbers.LOCAL, NOW, carrier={"locality": {"x": 1}})
    return len(jsonc.dumps(numbers.success_entry(doc)))


def estimate(data: dict) -> JobSize:
    """The largest the job's document may become; `data` is the schema-checked request."""
    entries = [e for e in data.get("numbers") or [] if isinstance(e, str)]
    success = success_room(str(data.get("resource_id", "")))
    exists = len(jsonc.dumps(numbers.number_exists("", ACCOUNT_ID)))  # its cause and message hold the E.164 twice
    per_number = []
    for entry in entries:
        key = len(jsonc.dumps(entry))
        e164 = len(entry) + E164_GROWTH
        result = max(key + E164_GROWTH + success, key + exists + 2 * e164)
        per_number.append(key + 1 + result + 2 + e164 + 3)  # in `numbers`, its result, in `pvt_inflight`
    fields = {k: len(k) + 4 + len(jsonc.dumps(v)) for k, v in data.items() if k != "numbers"}
    return JobSize(fields, per_number)
