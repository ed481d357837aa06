"""Test data written as a Kazoo 4.3 cluster writes it (from tests/fixtures/kazoo)."""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from kazoo_crossbar.jobs.store import new_job_id
from kazoo_crossbar.storage import names, provision, views
from kazoo_crossbar.storage.couch import CouchClient
from kazoo_crossbar.storage.provision import credentials

from .eventually import eventually

# Documents exactly as Kazoo 4.3 stores them, kept in the repository (see their README).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kazoo"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def new_account_id() -> str:
    return secrets.token_hex(16)


class KazooData:
    def __init__(self, couch: CouchClient, client: TestClient, master: dict):
        self.couch, self.client, self.master = couch, client, master

    async def account(
        self,
        *,
        parent: dict | None = None,
        superduper: bool = False,
        account_id: str | None = None,
        name: str | None = None,
        **extra: Any,
    ) -> dict:
        """An account from Kazoo's fixture doc: account DB (with Kazoo's views) + copy in `accounts`."""
        doc = fixture("account-db.account-doc.json")
        account_id = account_id or new_account_id()
        doc.pop("_rev", None)
        doc.update(
            _id=account_id,
            name=name or f"Account {account_id[:6]}",
            realm=f"{account_id[:8]}.sip.example.test",
            pvt_account_id=account_id,
            pvt_account_db=names.encode(names.account_db(account_id)),
            pvt_api_key=secrets.token_hex(32),
            pvt_tree=[*parent.get("pvt_tree", []), parent["_id"]] if parent else [],
            pvt_superduper_admin=superduper,
        )
        doc.update(extra)
        db = names.account_db(account_id)
        await views.ensure_db(self.couch, db)
        await self.couch.save_doc(db, doc)
        await self.couch.save_doc(names.ACCOUNTS, {k: v for k, v in doc.items() if k != "_rev"})
        return doc

    async def plain_account(self, name: str = "Plain", **kw: Any) -> dict:
        """An account made the way `kazoo-crossbar accounts create` makes it (under the master)."""
        parent = await provision.get_account(self.couch, self.master["master_account_id"])
        return await provision.create_account(self.couch, name, parent=parent, **kw)

    async def user(self, account: dict, username: str, password: str, **extra: Any) -> dict:
        doc = fixture("account-db.user-doc.json")
        doc.pop("_rev", None)
        md5, sha1 = credentials(username, password)
        doc.update(
            _id=secrets.token_hex(16),
            username=username,
            pvt_md5_auth=md5,
            pvt_sha1_auth=sha1,
            pvt_account_id=account["_id"],
            pvt_account_db=account["pvt_account_db"],
        )
        doc.update(extra)
        await self.couch.save_doc(names.account_db(account["_id"]), doc)
        return doc

    async def api_token(self, api_key: str) -> str:
        resp = await self.client.put("/v2/api_auth", json={"data": {"api_key": api_key}})
        body = await resp.json()
        assert resp.status == 201, body
        return body["auth_token"]

    async def token_for(self, account: dict) -> str:
        return await self.api_token(account["pvt_api_key"])

    def copy(self, doc: dict) -> dict:
        return copy.deepcopy(doc)

    @asynccontextmanager
    async def system_config(self, category: str, **values: Any) -> AsyncIterator[None]:
        """Set `default` keys of a system_config category for the block, then put them back
        (the service's config cache is dropped both times, as its TTL would do)."""
        from kazoo_crossbar.app import SERVICES
        from kazoo_crossbar.storage.couch import NotFound

        try:
            doc = await self.couch.get_doc("system_config", category)
        except NotFound:
            doc = {"_id": category, "default": {}}
        before = copy.deepcopy(doc.get("default", {}))
        doc.setdefault("default", {}).update(values)
        await self.couch.save_doc("system_config", doc)
        self.client.app[SERVICES].config.forget()
        try:
            yield
        finally:
            doc = await self.couch.get_doc("system_config", category)
            doc["default"] = {**{k: v for k, v in doc["default"].items() if k not in values}, **before}
            await self.couch.save_doc("system_config", doc)
            self.client.app[SERVICES].config.forget()


# Polling a job is bounded only so that a hung job fails the test instead of the whole run: this is
# a hang guard, not a speed check (the machine may be shared and slow; no test asserts durations).
JOB_HANG_GUARD_S = 600.0


async def wait_for_job(client: TestClient, url: str, headers: dict, timeout_s: float = JOB_HANG_GUARD_S) -> dict:
    """Poll a job through the API until it is complete; returns its API view."""

    async def job() -> dict:
        resp = await client.get(url, headers=headers)
        body = await resp.json()
        assert resp.status == 200, body
        return body["data"]

    return await eventually(
        job, lambda j: j["status"] == "complete", what=f"{url} completes", timeout_s=timeout_s, interval_s=0.1
    )


async def wait_stored(couch: CouchClient, db: str, job_id: str, timeout_s: float = JOB_HANG_GUARD_S) -> dict:
    """Poll a job document in its month database until it is complete; returns the document."""
    return await eventually(
        lambda: couch.get_doc(db, job_id),
        lambda doc: doc["pvt_status"] == "complete",
        what=f"job {job_id} completes",
        timeout_s=timeout_s,
        interval_s=0.1,
    )


def unique_npa() -> str:
    """A random 3-digit area code prefix so tests never share numbers."""
    return str(secrets.randbelow(700) + 200)


def numbers_block(count: int, npa: str | None = None) -> list[str]:
    npa = npa or unique_npa()
    exchange = str(secrets.randbelow(700) + 200)
    base = secrets.randbelow(10000 - count) if count < 10000 else 0
    return [f"+1{npa}{exchange}{base + i:04d}" for i in range(count)]


async def stale_job(couch, account, rid, nums, *, status="pending", age_s=7200, month=None, **extra) -> tuple[str, str]:
    """A job as cb_resources on a Kazoo node saves it, straight into the month database, `age_s`
    old (stale by default, for recovery). Returns (month database, job id)."""
    now = datetime.now(UTC) if month is None else month
    job_id = new_job_id(now)
    db = names.modb(account["_id"], now.year, now.month)
    await views.ensure_db(couch, db)
    stamp = names.gregorian_now() - age_s
    doc = {
        "_id": job_id,
        "numbers": nums,
        "resource_id": rid,
        "errors": {},
        "success": {},
        "pvt_status": status,
        "pvt_type": "resource_job",
        "pvt_account_id": account["_id"],
        "pvt_account_db": names.encode(db),
        "pvt_auth_account_id": account["_id"],
        "pvt_vsn": "1",
        "pvt_created": stamp,
        "pvt_modified": stamp,
        **extra,
    }
    await couch.save_doc(db, doc)
    return db, job_id
