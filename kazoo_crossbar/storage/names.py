"""Kazoo's database names (kz_util:format_account_id/2,3; kz_databases.hrl).

Three forms of an account database name exist: the raw id, the unencoded name
(`account/xx/yy/rest`, what CouchDB calls it) and the encoded one
(`account%2Fxx%2Fyy%2Frest`, what Kazoo puts in URLs and in `pvt_account_db`).
Every function here accepts any of the three.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeGuard
from urllib.parse import quote

ACCOUNTS = "accounts"
OFFNET = "offnet"
SIP_AUTH = "sip_auth"
SYSTEM_CONFIG = "system_config"
SYSTEM_AUTH = "system_auth"
SERVICES = "services"  # one document per account: its billable quantities (kz_services)
SYSTEM_DBS = (ACCOUNTS, OFFNET, SIP_AUTH, SYSTEM_CONFIG, SYSTEM_AUTH, SERVICES)

GREGORIAN_OFFSET = 62167219200  # seconds from 0000-01-01 to 1970-01-01

# Kazoo checks only the length of an account id; its own fixtures use
# `account0000000000000000000000001`, so any 32 lowercase alphanumerics pass.
_ACCOUNT_ID = re.compile(r"^[a-z0-9]{32}$")
_ACCOUNT_DB = re.compile(
    r"^account(?:/|%2[fF])([a-z0-9]{2})(?:/|%2[fF])([a-z0-9]{2})(?:/|%2[fF])([a-z0-9]{28})"
    r"(?:-(\d{4})(\d{2}))?$"
)
_RAW_MODB = re.compile(r"^([a-z0-9]{32})-(\d{4})(\d{2})$")


def gregorian_now() -> int:
    return unix_to_gregorian(time.time())


def unix_to_gregorian(seconds: float) -> int:
    return int(seconds) + GREGORIAN_OFFSET


def gregorian_to_datetime(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds - GREGORIAN_OFFSET, tz=UTC)


def is_account_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(_ACCOUNT_ID.match(value))


def account_id(name: str) -> str | None:
    """The account id behind any form of an account or MODB name, else None."""
    if _ACCOUNT_ID.match(name):
        return name
    if m := _RAW_MODB.match(name):
        return m.group(1)
    if m := _ACCOUNT_DB.match(name):
        return m.group(1) + m.group(2) + m.group(3)
    return None


def account_db(account: str) -> str:
    """Unencoded account database name: `account/xx/yy/rest`."""
    aid = account_id(account)
    if aid is None:
        raise ValueError(f"not an account id or database: {account!r}")
    return f"account/{aid[0:2]}/{aid[2:4]}/{aid[4:]}"


def modb(account: str, year: int, month: int) -> str:
    """Unencoded month database name: `account/xx/yy/rest-YYYYMM`."""
    return f"{account_db(account)}-{year:04d}{month:02d}"


def current_modb(account: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return modb(account, now.year, now.month)


def modb_month(name: str) -> tuple[int, int] | None:
    """(year, month) of a MODB name in any form, else None."""
    if (m := _ACCOUNT_DB.match(name)) and m.group(4):
        return int(m.group(4)), int(m.group(5))
    if m := _RAW_MODB.match(name):
        return int(m.group(2)), int(m.group(3))
    return None


def months_between(start: datetime, end: datetime) -> list[tuple[int, int]]:
    """Every (year, month) from start to end inclusive, oldest first."""
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def numbers_db(e164: str) -> str:
    """Unencoded number database: `numbers/` + the first five characters of the E.164 number."""
    return f"numbers/{e164[:5]}"


def alphanum_realm(name: str) -> str:
    """A realm-safe label from an account name."""
    label = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (label or "kazoo") + ".local"


@lru_cache(maxsize=4096)  # a job encodes its few number databases' names thousands of times
def encode(name: str) -> str:
    """Kazoo's encoded form (`account%2F…`, `numbers%2F%2B1222`): what `pvt_account_db`,
    `pvt_db_name` and the bus routing keys carry."""
    return quote(decode(name), safe="")


def decode(name: str) -> str:
    return name.replace("%2F", "/").replace("%2f", "/").replace("%2B", "+").replace("%2b", "+")


def url_path(name: str) -> str:
    """A database name as one URL path segment for CouchDB: the encoded form."""
    return encode(name)


def classify(name: str) -> str | None:
    """The design-document class (folder under couchdb_views/) of a database name."""
    name = decode(name)
    if name in (ACCOUNTS, OFFNET, SIP_AUTH):
        return name
    if name.startswith("numbers/"):
        return "numbers"
    if m := _ACCOUNT_DB.match(name):
        return "modb" if m.group(4) else "account"
    return None
