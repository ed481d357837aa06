"""Kazoo's error catalogue (cb_context:add_system_error, crossbar_util:response_*).

Every refusal in the pipeline or an endpoint raises `ApiError`; the pipeline
renders it as Kazoo's error envelope. Constructors below keep the exact
`message` and `data` strings Kazoo clients compare against.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from ..storage.couch import Conflict, CouchError, NotFound, Unreachable


class ApiError(Exception):
    def __init__(self, code: int, message: str, data: Any = None, *, allowed: frozenset[str] | None = None):
        super().__init__(f"{code} {message}")
        self.code, self.message = code, message
        self.data = {} if data is None else data
        self.allowed = allowed  # for 405: the methods to list in the CORS headers


MAX_ECHO = 256  # characters of a rejected value an error may quote back


def _small(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_ECHO
    if isinstance(value, (dict, list)):
        items = value.values() if isinstance(value, dict) else value
        return depth < 2 and len(value) <= 16 and all(_small(v, depth + 1) for v in items)
    return True


def validation(errors: dict) -> ApiError:
    """Kazoo quotes the rejected value; a large one is left out (input is never echoed in bulk)."""
    for detail in (d for codes in errors.values() if isinstance(codes, dict) for d in codes.values()):
        if isinstance(detail, dict):
            for key in ("value", "cause"):
                if key in detail and not _small(detail[key]):
                    del detail[key]
    return ApiError(400, "validation error", errors)


def wrong_type(value: object, types: str, key: str = "data") -> ApiError:
    return validation(
        {key: {"type": {"message": f"Value did not match type(s): {types}", "target": types, "value": value}}}
    )


def invalid_json(reason: str) -> ApiError:
    return validation({"json": {"invalid": {"message": reason, "target": "body"}}})


def invalid_credentials() -> ApiError:
    return ApiError(401, "invalid_credentials", {"message": "invalid credentials"})


def forbidden() -> ApiError:
    return ApiError(403, "forbidden", {"message": "forbidden"})


def bad_identifier(doc_id: str) -> ApiError:
    return ApiError(404, "bad_identifier", {"cause": doc_id, "message": "bad identifier"})


def bad_identifier_list(value: str) -> ApiError:
    # crossbar_util:response_bad_identifier/2: message with a space, data a list.
    return ApiError(404, "bad identifier", [value])


def bad_account_id(message: str) -> ApiError:
    # api_resource: a missing or malformed account id in the URL
    return ApiError(404, "bad identifier", {"message": message})


def not_found() -> ApiError:
    return ApiError(404, "not_found", {"message": "not found"})


def invalid_method(allowed: frozenset[str]) -> ApiError:
    return ApiError(405, "invalid_method", {"message": "method not allowed"}, allowed=allowed)


def from_http(status: int, reason: str) -> ApiError:
    """An HTTP refusal made outside the pipeline (aiohttp's router or parser), as an envelope."""
    if status == 404:
        return not_found()
    return ApiError(status, reason.lower().replace(" ", "_") or "bad_request", {"message": reason.lower()})


def request_timeout() -> ApiError:
    # the body did not arrive within the body timeout (http/protocol.py)
    return ApiError(408, "request_timeout", {"message": "the request body did not arrive in time"})


def not_implemented() -> ApiError:
    # cowboy's 501 for a method it does not know (TRACE, CONNECT…), with a Kazoo body
    return ApiError(501, "not_implemented", {"message": "method not implemented"})


def too_many_requests() -> ApiError:
    # crossbar_util:response_429: the client's token bucket cannot pay for the request
    return ApiError(429, "too_many_requests", {"message": "too many requests"})


def conflict() -> ApiError:
    return ApiError(409, "datastore_conflict", {"message": "conflicting documents"})


def precondition_failed() -> ApiError:
    return ApiError(412, "precondition_failed", {"message": "revision does not match"})


def unspecified_fault(message: str = "unspecified fault") -> ApiError:
    return ApiError(500, "unspecified_fault", {"message": message})


def faulty_request(message: str) -> ApiError:
    return ApiError(404, "faulty_request", {"message": message})


def from_couch(exc: CouchError) -> ApiError:
    """Map a CouchDB failure the way Kazoo's crossbar_doc does."""
    if isinstance(exc, Unreachable):
        # Kazoo says "datastore timeout" whatever happened; a refused connection is no timeout
        if isinstance(exc.__cause__, (ConnectionRefusedError, aiohttp.ClientConnectorError)):  # either transport
            return ApiError(503, "datastore_unreachable", {"message": "datastore unreachable: connection refused"})
        return ApiError(503, "datastore_unreachable", {"message": "datastore timeout"})
    if isinstance(exc, Conflict):
        return conflict()
    if isinstance(exc, NotFound) and exc.db_missing:
        return ApiError(
            503, "datastore_missing", {"cause": exc.db or "", "message": "data collection missing: database not found"}
        )
    if isinstance(exc, NotFound):
        return ApiError(503, "datastore_missing_view", {"cause": exc.reason, "message": "datastore missing view"})
    if exc.status == 413:  # document_too_large: over CouchDB's max_document_size (too_large: the request)
        return ApiError(
            413, "document_too_large", {"cause": exc.error, "message": "the document is too large for the datastore"}
        )
    if exc.error == "query_parse_error":  # a query CouchDB refuses (limit, skip, key range)
        return ApiError(400, "datastore_query_invalid", {"cause": exc.reason[:MAX_ECHO], "message": "invalid query"})
    return ApiError(503, "datastore_fault", {"cause": exc.error or str(exc.status), "message": "datastore fatal error"})
