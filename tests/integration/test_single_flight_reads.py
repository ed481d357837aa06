"""The caches built on TTLCache.get_or_load (tests/unit/test_single_flight.py) are single-flight
against the real CouchDB: a burst of requests naming one account, one system_config category
or one token reads it once (reads counted)."""

from __future__ import annotations

import asyncio

from kazoo_crossbar.bus.base import NullBus
from kazoo_crossbar.storage.accounts import Accounts
from kazoo_crossbar.storage.couch import CouchClient
from kazoo_crossbar.storage.system_config import SystemConfig
from kazoo_crossbar.storage.writes import Writes


class CountingCouch(CouchClient):
    def __init__(self, url: str):
        super().__init__(url)
        self.reads: list[tuple[str, str]] = []

    async def get_doc(self, db: str, doc_id: str, **params):
        self.reads.append((db, doc_id))
        await asyncio.sleep(0.01)  # keep the read in flight while the others arrive
        return await super().get_doc(db, doc_id, **params)


async def test_a_burst_for_one_account_reads_it_once(couchdb_url, master):
    couch = CountingCouch(couchdb_url)
    try:
        accounts = Accounts(couch)
        account_id = master["master_account_id"]
        docs = await asyncio.gather(*(accounts.get(account_id) for _ in range(30)))
        assert all(d is not None and d["_id"] == account_id for d in docs)
        assert len(couch.reads) == 1
        missing = "0" * 32
        assert await asyncio.gather(*(accounts.get(missing) for _ in range(10))) == [None] * 10
        assert len(couch.reads) == 2
    finally:
        await couch.close()


async def test_a_burst_for_one_config_category_reads_it_once(couchdb_url, master):
    couch = CountingCouch(couchdb_url)
    try:
        config = SystemConfig(Writes(couch, NullBus(), node="single-flight@test"))
        values = await asyncio.gather(*(config.get("accounts", "master_account_id") for _ in range(30)))
        assert values == [master["master_account_id"]] * 30
        assert couch.reads == [("system_config", "accounts")]
    finally:
        await couch.close()


async def test_a_burst_for_one_token_verifies_it_once(client, master_token, monkeypatch):
    from kazoo_crossbar.services import SERVICES

    tokens = client.app[SERVICES].tokens
    tokens.forget()
    calls = []
    real = tokens._verify

    async def counted(token):
        calls.append(token)
        await asyncio.sleep(0.01)
        return await real(token)

    monkeypatch.setattr(tokens, "_verify", counted)
    claims = await asyncio.gather(*(tokens.verify(master_token) for _ in range(20)))
    assert len({c.account_id for c in claims}) == 1 and calls == [master_token]
