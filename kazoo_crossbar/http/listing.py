"""Listings over CouchDB views with Kazoo's pagination and filters (§8, §9).

The request side of every listing: page size, start key, filters; the pages
themselves are read by storage/paging.py. `page_size` rows are returned; the
key of the next row becomes `next_start_key`, in Kazoo's encoding;
`paginate=false` returns everything. Query-string filters switch to
`include_docs` and are applied to the full document.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..storage import collation, paging
from ..storage.couch import CouchClient
from ..storage.recent import Overlay
from ..storage.system_config import SystemConfig
from . import errors, startkey
from .context import Context, is_false

# CouchDB 3's largest view `limit` (couch_mrview's MAX_VIEW_LIMIT, 2^59 - 1) less the row read
# past a page for its next_start_key
MAX_PAGE_SIZE = 2**59 - 2
FILTER_PREFIXES = ("filter_not_", "filter_")
FILTER_KEYS = (
    "has_key",
    "key_missing",
    "has_value",
    "value_missing",
    "created_from",
    "created_to",
    "modified_from",
    "modified_to",
)


def _get_path(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def _as_filter_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _value_matches(doc_value: Any, wanted: str) -> bool:
    have = _as_filter_string(doc_value)
    if have == wanted:
        return True
    try:
        parsed = json.loads(wanted)
    except ValueError:
        return False
    if isinstance(parsed, list):
        return any(_as_filter_string(v) == have for v in parsed)
    return _as_filter_string(parsed) == have


def _non_empty(value: Any) -> bool:
    return value not in (None, "", [], {})


def filters_of(query: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in query.items() if k in FILTER_KEYS or k.startswith(FILTER_PREFIXES)}


def matches(doc: dict, filters: dict[str, Any]) -> bool:
    """crossbar_filter: every filter must match; a filter that cannot be evaluated excludes the doc."""
    try:
        for key, raw in filters.items():
            wanted = raw if isinstance(raw, str) else "true"
            if key.startswith("filter_not_"):
                ok = not _value_matches(_get_path(doc, key[len("filter_not_") :]), wanted)
            elif key.startswith("filter_"):
                ok = _value_matches(_get_path(doc, key[len("filter_") :]), wanted)
            elif key == "has_key":
                ok = _get_path(doc, wanted) is not None
            elif key == "key_missing":
                ok = _get_path(doc, wanted) is None
            elif key == "has_value":
                ok = _non_empty(_get_path(doc, wanted))
            elif key == "value_missing":
                ok = not _non_empty(_get_path(doc, wanted))
            else:
                field = "pvt_created" if key.startswith("created") else "pvt_modified"
                stamp, bound = int(doc[field]), int(wanted)
                ok = stamp >= bound if key.endswith("_from") else stamp <= bound
            if not ok:
                return False
        return True
    except (KeyError, TypeError, ValueError):
        return False


async def page_size(ctx: Context, config: SystemConfig, *, strict: bool = False) -> int | None:
    """The page size, None when pagination is off (v1 or paginate=false).

    Legacy listings fall back to the default on a bad value; crossbar_view
    listings (strict) answer 404 faulty_request, as in Kazoo."""
    if ctx.version == "v1" or is_false(ctx.req_value("paginate", True)):
        return None
    default = await config.setting_int("crossbar", "pagination_page_size")
    raw = ctx.req_value("page_size")
    if raw is None:
        return default
    try:
        size = int(raw)
    except (TypeError, ValueError):
        if strict:
            raise errors.faulty_request("invalid page size") from None
        return default
    if size < 1:
        if strict:
            raise errors.faulty_request("page size must be at least 1")
        return default
    if size > MAX_PAGE_SIZE:  # CouchDB 3 would refuse the query's limit (query_parse_error)
        raise errors.validation(
            {"page_size": {"maximum": {"message": f"Value must be at most {MAX_PAGE_SIZE}", "target": MAX_PAGE_SIZE}}}
        )
    return size


def check_range(first: Any, end: Any, *, descending: bool) -> None:
    """400 on the start_key when the listing would start past its end: CouchDB 3 refuses such a
    range (query_parse_error), so it is refused before any query is sent."""
    if first is not None and end is not None and collation.empty_range(first, end, descending=descending):
        raise errors.validation(
            {"start_key": {"invalid": {"message": "Invalid start key: outside the listing", "target": "start_key"}}}
        )


def request_start_key(ctx: Context) -> Any:
    """The decoded `start_key`; a key this service would never have issued is a 400 (startkey.py)."""
    raw = ctx.req_value("start_key")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return startkey.decode(raw)
    except startkey.InvalidStartKey as exc:
        raise errors.validation(
            {"start_key": {"invalid": {"message": f"Invalid start key: {exc.reason}", "target": "start_key"}}}
        ) from None


async def load(
    ctx: Context,
    couch: CouchClient,
    dbs: Sequence[str],
    design: str,
    view: str,
    *,
    mapper: paging.Mapper = lambda row: row["value"],
    start: Any = None,
    end: Any = None,
    descending: bool = False,
    reverse_page: bool = False,
    size: int | None = 50,
    skip_missing_dbs: bool = False,
    overlay: Overlay | None = None,
) -> None:
    """Fill ctx.resp_data and the pagination keys from the view rows across dbs, in order
    (storage/paging.py reads the pages)."""
    filters = filters_of(ctx.query)
    requested = request_start_key(ctx)
    first = requested if requested is not None else start
    check_range(first, end, descending=descending)
    keep = (lambda doc: matches(doc, filters)) if filters else None
    items, next_key = await paging.page(
        couch,
        dbs,
        design,
        view,
        first=first,
        end=end,
        descending=descending,
        size=size,
        keep=keep,
        mapper=mapper,
        skip_missing_dbs=skip_missing_dbs,
        overlay=overlay,
    )
    if reverse_page:
        items.reverse()
    ctx.resp_data = items
    if size is not None:
        envelope: dict[str, Any] = {}
        if next_key is not None:
            envelope["next_start_key"] = startkey.encode(next_key)
        envelope["page_size"] = len(items)
        if first is not None:
            envelope["start_key"] = startkey.encode(first)
        ctx.resp_envelope = envelope
