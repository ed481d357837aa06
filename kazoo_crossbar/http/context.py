"""The per-request context (Kazoo's cb_context): what was asked, who asks, what we answer."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..auth.tokens import Claims
from ..storage.accounts import is_superduper_admin
from ..storage.docs import Writer


@dataclass
class Context:
    request: web.Request
    request_id: str
    method: str
    node_hash: str = ""
    version: str = "v2"
    path_tokens: list[str] = field(default_factory=list)
    nouns: list[tuple[str, list[str]]] = field(default_factory=list)
    query: dict[str, Any] = field(default_factory=dict)
    envelope: dict[str, Any] = field(default_factory=dict)
    data: Any = field(default_factory=dict)
    body_size: int = 0  # bytes of the request body (work done on it may move off the loop)
    auth_token: str | None = None
    # /accounts/{id}
    account_id: str | None = None
    account_doc: dict | None = None
    # authentication
    claims: Claims | None = None
    auth_account_doc: dict | None = None
    # response
    status: int = 200
    resp_data: Any = None
    resp_envelope: dict[str, Any] = field(default_factory=dict)
    revision: str | None = None
    location: str | None = None
    allowed: frozenset[str] = frozenset()  # methods of the routed path (CORS headers)

    @property
    def auth_account_id(self) -> str | None:
        return self.claims.account_id if self.claims else None

    @property
    def is_superduper_admin(self) -> bool:
        return is_superduper_admin(self.auth_account_doc)

    def req_value(self, key: str, default: Any = None) -> Any:
        """cb_context:req_value/2: request data first, then the query string, then the envelope."""
        if isinstance(self.data, dict) and key in self.data:
            return self.data[key]
        if key in self.query:
            return self.query[key]
        return self.envelope.get(key, default)

    def writer(self, account_id: str | None) -> Writer:
        return Writer(
            request_id=self.request_id,
            account_id=account_id,
            auth_account_id=self.auth_account_id,
            auth_user_id=self.claims.owner_id if self.claims else None,
            original_auth_account_id=self._claim("original_account_id"),
            original_auth_owner_id=self._claim("original_owner_id"),
        )

    def _claim(self, name: str) -> str | None:
        value = self.claims.raw.get(name) if self.claims else None
        return value if isinstance(value, str) and value else None


def new_request_id(header: str | None) -> str:
    if header and 0 < len(header) <= 255 and header.isprintable():
        return header
    # 128 random bits as 32 hex digits, as before; a request id is a label, not a secret, so the
    # Mersenne Twister serves (no system call per request, unlike secrets)
    return f"{random.getrandbits(128):032x}"


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() in ("false", "0", "no", "off"))
