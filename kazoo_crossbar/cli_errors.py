"""One clear line per failure: the exception every command raises for an operator's mistake,
and the wording of the usual environmental failures (CouchDB or the API down, port in use)."""

from __future__ import annotations

import errno

import aiohttp


class CliError(Exception):
    """A failure the operator can fix; the message says what went wrong and what to do. From an
    API answer: its HTTP `status` and its Kazoo `envelope` (for callers that add a hint)."""

    def __init__(self, message: str, *, status: int | None = None, envelope: dict | None = None):
        super().__init__(message)
        self.status, self.envelope = status, envelope


def redact_url(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    try:
        parsed = aiohttp.client.URL(url)
    except (ValueError, TypeError):
        return "<unparsable URL>"
    return str(parsed.with_password("***")) if parsed.password else url


def describe(exc: BaseException) -> str:
    if isinstance(exc, CliError):
        return str(exc)
    from .storage.couch import CouchError  # late: keeps `--version` and usage errors light

    if isinstance(exc, CouchError):
        status = getattr(exc, "status", None)
        hint = (
            "check the user and password in the CouchDB URL"
            if status in (401, 403) or "Unauthorized" in type(exc).__name__
            else "check that the URL is a CouchDB 3 server"
        )
        return f"CouchDB refused the request ({exc}); {hint}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return (
            f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc.os_error}); "
            "is the server running, and is the URL right?"
        )
    if isinstance(exc, aiohttp.ClientError):
        return f"HTTP request failed: {type(exc).__name__}: {exc}; is the URL right?"
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename}: no such file"
    if isinstance(exc, PermissionError):
        return f"{exc.filename}: permission denied"
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return f"address already in use ({exc.strerror}); stop the other process or choose another port"
    return f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"
