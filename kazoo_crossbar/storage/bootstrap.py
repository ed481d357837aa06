"""`kazoo-crossbar setup`: idempotent preparation of a CouchDB for the service.

System databases, design documents (missing ones added to the system databases and to every
account, month and number database), system_config defaults (never overwriting an operator's
values), and a super-duper-admin master account with an API key and an admin user when none
exists. Every write goes through the write path with the caller's bus (`NullBus` when the
command has no broker), so Kazoo nodes on the same bus see `setup`'s changes.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from . import names, provision, views
from .couch import CouchClient, CouchError, NotFound, Unreachable
from .system_config import SystemConfig, install_defaults
from .writes import ChangeEvents, Writes


class NotCouchDB(Exception):
    """Something answers at the URL, but it is not CouchDB (the API's own port, a web server...)."""


async def is_couchdb(couch: CouchClient) -> bool | None:
    """True when CouchDB answers at `/` (its welcome), False when something else answers, None when
    nothing answers yet. A 401 there is a CouchDB that wants credentials (require_valid_user)."""
    try:
        root = await couch.request("GET", "/")
    except Unreachable:
        return None
    except CouchError as exc:
        return exc.status == 401
    except ValueError:  # not JSON at all
        return False
    return isinstance(root, dict) and "couchdb" in root


async def wait_until_up(couch: CouchClient, timeout_s: float = 30.0) -> None:
    """Raises TimeoutError when CouchDB has not answered `/_up` within timeout_s, NotCouchDB at once
    when something else answers at the URL."""

    async def poll() -> None:
        while True:
            found = await is_couchdb(couch)
            if found is False:
                raise NotCouchDB(couch.url)
            if found and await couch.up():
                return
            await asyncio.sleep(0.2)

    # Bounded as a whole: one attempt alone may hang on a black-holed address.
    await asyncio.wait_for(poll(), timeout_s)


# Classes whose databases are many and made on the fly (by Kazoo or by us): setup completes them.
PER_ACCOUNT_CLASSES = ("account", "modb", "numbers")


async def install_everywhere(couch: CouchClient, concurrency: int = 8) -> int:
    """Add the missing design documents and views to every account, month and number database,
    as Kazoo's `sup kapps_maintenance refresh` does (it also rewrites differing ones; we only add).
    Heals databases created without them, e.g. month DBs made by an earlier version of ours.
    Returns how many design documents were written."""
    slots = asyncio.Semaphore(concurrency)

    async def one(db: str) -> int:
        async with slots:
            try:
                return await views.install(couch, db)
            except NotFound:  # deleted since it was listed
                return 0

    dbs = [db for db in await couch.all_dbs() if names.classify(db) in PER_ACCOUNT_CLASSES]
    return sum(await asyncio.gather(*(one(db) for db in dbs)))


async def setup(
    url: str,
    node: str,
    *,
    events: ChangeEvents,
    wait_s: float = 30.0,
    master_account_name: str = "Master Account",
    admin_username: str | None = None,
    admin_password: str | None = None,
    known_password: str | None = None,
) -> dict[str, Any]:
    """`known_password`: the admin password an earlier run printed (var/setup.json); reported again
    when it still is the user's password, so a second run loses nothing."""
    couch = CouchClient(url)
    try:
        await wait_until_up(couch, wait_s)
        writes = Writes(couch, events, node=node)
        design_docs = 0  # every design document setup writes is counted in `design_docs_installed`
        for db in names.SYSTEM_DBS:
            await writes.create_db(db, install=False)
            design_docs += await views.install(couch, db)
        await install_defaults(writes, node)
        config = SystemConfig(writes)
        master_id = await config.get("accounts", "master_account_id")
        master = None
        if names.is_account_id(master_id):
            try:
                master = await couch.get_doc(names.account_db(master_id), master_id)
            except NotFound:
                master = None
        if master is None:
            master = await provision.create_account(writes, master_account_name, superduper=True)
            design_docs += len(views.design_docs("account"))  # a new database: it got the whole set
            doc = await couch.get_doc(names.SYSTEM_CONFIG, "accounts")
            doc.setdefault("default", {})["master_account_id"] = master["_id"]
            await writes.save(names.SYSTEM_CONFIG, doc)
        design_docs += await install_everywhere(couch)  # the master account's DB included
        username = (admin_username or "admin").lower()
        result: dict[str, Any] = {
            "master_account_id": master["_id"],
            "api_key": master["pvt_api_key"],
            "admin_username": username,
            "design_docs_installed": design_docs,
        }
        user = await provision.find_user(couch, master["_id"], username)
        if user is None or admin_password:
            password = admin_password or secrets.token_urlsafe(12)
            if user is None:
                await provision.create_user(writes, master, username, password)
            else:
                user["pvt_md5_auth"], user["pvt_sha1_auth"] = provision.credentials(username, password)
                await writes.save(names.account_db(master["_id"]), user)
            result["admin_password"] = password
        elif known_password is not None and user is not None:
            if (user.get("pvt_md5_auth"), user.get("pvt_sha1_auth")) == provision.credentials(username, known_password):
                result["admin_password"] = known_password
            else:
                result["admin_password_note"] = (
                    "the earlier admin_password no longer logs in (changed since); set one with --admin-password"
                )
        return result
    finally:
        await couch.close()
