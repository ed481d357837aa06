"""CouchDB's answers other than success, as exceptions (raised by `couch.CouchClient`, which
re-exports them; a module of their own so `retry` can name them without importing the client)."""

from __future__ import annotations


class CouchError(Exception):
    """A CouchDB answer other than success; `status` is the HTTP status (0: no answer)."""

    def __init__(self, status: int, error: str, reason: str = "", db: str | None = None):
        super().__init__(f"{status} {error}: {reason}")
        self.status, self.error, self.reason, self.db = status, error, reason, db


class NotFound(CouchError):
    @property
    def db_missing(self) -> bool:
        # CouchDB 3: "Database does not exist."; older servers: "no_db_file".
        return "database" in self.reason.lower() or self.reason == "no_db_file"


class Conflict(CouchError):
    pass


class Unreachable(CouchError):
    pass
