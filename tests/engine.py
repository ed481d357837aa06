"""Which CouchDB the suite runs against: the embedded server (the default) or Apache CouchDB 3
(KAZOO_COUCHDB_URL naming one, as `make test-couchdb` does).

CouchDB 3 is the truth. A test of a behaviour only the embedded server has is marked
`embedded_only` with the reason in the test; docs/production.md lists every difference.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.request
from functools import cache

import pytest
from yarl import URL


@cache
def engine() -> str:
    """ "couchdb3" when KAZOO_COUCHDB_URL answers as Apache CouchDB, else "embedded" (the embedded
    server names itself in `vendor`, so a URL pointed at one is the embedded engine too)."""
    raw = os.environ.get("KAZOO_COUCHDB_URL")
    if not raw:
        return "embedded"
    url = URL(raw)
    request = urllib.request.Request(str(url.with_user(None)).rstrip("/") + "/")
    if url.user:
        token = base64.b64encode(f"{url.user}:{url.password or ''}".encode()).decode("ascii")
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as resp:
        vendor = json.loads(resp.read()).get("vendor", {}).get("name", "")
    return "couchdb3" if vendor == "The Apache Software Foundation" else "embedded"


def is_couchdb3() -> bool:
    return engine() == "couchdb3"


def embedded_only(reason: str) -> pytest.MarkDecorator:
    """A test of something only the embedded server does; `reason` says what CouchDB 3 does instead."""
    return pytest.mark.skipif(is_couchdb3(), reason=f"embedded server only: {reason}")


def embedded_lacks(reason: str) -> pytest.MarkDecorator:
    """A test of CouchDB 3's behaviour that the embedded server does not have yet: an expected
    failure there (strict: once the embedded server learns it, the mark must go)."""
    return pytest.mark.xfail(not is_couchdb3(), reason=f"embedded server differs: {reason}", strict=True)
