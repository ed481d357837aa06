"""Test data written as a Kazoo 4.3 cluster writes it (from tests/fixtures/kazoo)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kazoo_crossbar.jobs.store import new_job_id
from kazoo_crossbar.storage import names, provision, views
from kazoo_crossbar.storage.couch import Conflict, CouchClient
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
        from kazoo_crossbar.app import SERVICES

        parent = await provision.get_account(self.couch, self.master["master_account_id"])
        return await provision.create_account(self.client.app[SERVICES].writes, name, parent=parent, **kw)

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


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def stored_key(couch: CouchClient, kid: str) -> rsa.RSAPrivateKey:
    pem = await couch.get_attachment("system_auth", kid, "private_key.pem")
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")  # PKCS#1, as Erlang's public_key writes it
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


async def kazoo_identity_secret(couch: CouchClient, account_id: str, identity: str) -> str:
    """The identity's `pvt_signature_secret`, written into its document first when it has none,
    as kz_auth_identity does the first time Kazoo signs for it."""
    db = names.account_db(account_id)
    doc = await couch.get_doc(db, identity)
    if not doc.get("pvt_signature_secret"):
        doc["pvt_signature_secret"] = secrets.token_hex(16)
        await couch.save_doc(db, doc)
    return doc["pvt_signature_secret"]


async def kazoo_made_token(
    couch: CouchClient,
    account_id: str,
    owner_id: str | None,
    exp: int,
    *,
    as_: Any = None,
    method: str = "cb_user_auth",
    **extra: Any,
) -> str:
    """A token built the way Kazoo 4.3 builds one, from what it keeps in CouchDB: the claims of
    crossbar_auth:create_auth_token (account_id, owner_id, as, method, exp), kz_auth's
    identity_sig put first and iss before it, RS256 with the `system_key` of system_config `auth`."""
    auth = (await couch.get_doc("system_config", "auth"))["default"]
    kid, server_secret = auth["system_key"], auth["secret_for_user_signature"]
    identity = owner_id or account_id
    secret = await kazoo_identity_secret(couch, account_id, identity)
    sig = hmac.new((secret + server_secret).encode(), identity.encode(), hashlib.sha256).digest()
    claims: dict[str, Any] = {"iss": "kazoo", "identity_sig": b64(sig), "account_id": account_id}
    if owner_id:
        claims["owner_id"] = owner_id
    if as_ is not None:
        claims["as"] = as_
    claims.update(method=method, exp=exp, **extra)
    return jwt.encode(claims, await stored_key(couch, kid), algorithm="RS256", headers={"kid": kid})


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


async def node_config(couch: CouchClient, node: str, **values: Any) -> None:
    """Per-node system_config values (Kazoo's node key), so other nodes keep the defaults. Read
    and saved again on a conflict: another node (a service starting up, on a cluster) may write
    the same document meanwhile."""

    async def save() -> bool:
        doc = await couch.get_doc("system_config", "crossbar.resources")
        doc[node] = values
        await couch.save_doc("system_config", doc)
        return True

    await eventually(save, what="system_config saved", retry_on=(Conflict,))
