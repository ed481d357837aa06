"""The services update after numbers are saved (knm_numbers:update_services → run_services →
kz_services:commit), reduced to what keeps a shared cluster's counts right.

Kazoo keeps one document per account in the `services` database. After numbers change,
`kz_services:commit_account` recounts the account's billables with the account database's
`services/quantify` view and stores them under `quantities.account`; `cascade_commit` then
recounts each ancestor of the account (its `pvt_tree`) with the `services` database's
`services/cascade_quantities` view and stores `quantities.cascade`. We do the same for the
categories a number document feeds in `quantify` (`phone_numbers`, `number_carriers`,
`number_services`), with Kazoo's own views, and write only when a count changed.

An account without a services document gets one, as `kz_services:fetch` creates it on
`not_found` (kz_services:create/2) before the commit saves it. The account database's
`_design/services` is installed with the other account design documents.

Not done (see docs/decisions.md): service plans, invoices, credit checks (`not_enough_credit`),
bookkeepers, audit logs.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from ..storage import names
from ..storage.couch import CouchError, NotFound
from ..storage.docs import document_hash
from ..storage.login_info import LoginInfo
from ..storage.system_config import SystemConfig
from ..storage.writes import Writes

log = structlog.get_logger(__name__)

SERVICES = names.SERVICES
GOOD_STANDING = "good_standing"  # kzd_services:status_good/0
# the categories `services/quantify` emits for a number document
CATEGORIES = ("phone_numbers", "number_carriers", "number_services")
Counts = dict[str, dict[str, int]]


class ServiceQuantities:
    def __init__(self, writes: Writes, config: SystemConfig):
        self.writes, self.couch, self.config = writes, writes.couch, config
        self.info = LoginInfo(writes.couch)

    async def commit(self, account_ids: Iterable[str]) -> None:
        """Recount the accounts whose numbers changed, then their ancestors. A failure is
        logged and leaves the numbers saved (Kazoo's next reconciliation recounts them)."""
        for account_id in sorted({a for a in account_ids if names.is_account_id(a)}):
            try:
                await self._commit_account(account_id)
            except CouchError as exc:
                log.warning("services_update_failed", account_id=account_id, status=exc.status, error=exc.error)

    async def _commit_account(self, account_id: str) -> None:
        counts = await self._counts(names.account_db(account_id), "quantify", [])
        if counts is None:
            return  # no `services/quantify` view: nothing Kazoo could count with either
        doc = await self._store(account_id, "account", counts)
        if doc is None and (new := await self._new_services_doc(account_id)) is not None:
            doc = await self._store(account_id, "account", counts, new)  # kz_services:fetch creates it
        if doc is None:
            return
        tree = [a for a in doc.get("pvt_tree") or [] if names.is_account_id(a)]
        # kz_services:cascade_commit skips the tree's last entry when this is false (read
        # without writing Kazoo's default, true, into system_config)
        if tree and await self.config.get("services", "cascade_commits_to_master_account") in (False, "false"):
            tree = tree[:-1]
        for ancestor in tree:
            cascade = await self._counts(SERVICES, "cascade_quantities", [ancestor])
            if cascade is not None:
                await self._store(ancestor, "cascade", cascade)

    async def _counts(self, db: str, view: str, prefix: list) -> Counts | None:
        """{category: {item: count}} of the number categories of one `services/<view>`
        (reduced, grouped) under a key prefix; counts below 1 are left out, as
        `kz_services_quantities:fetch_to_json` leaves out 0 (numbers never count negative)."""
        try:
            res = await self.couch.view(
                db, "services", view, reduce=True, group=True, startkey=prefix, endkey=[*prefix, {}]
            )
        except NotFound:
            return None
        out: Counts = {}
        for row in res.get("rows", []):
            key, value = row.get("key"), row.get("value")
            if not (isinstance(key, list) and len(key) == len(prefix) + 2 and isinstance(value, int)):
                continue
            category, item = key[len(prefix)], key[len(prefix) + 1]
            if category in CATEGORIES and value > 0:
                out.setdefault(category, {})[str(item)] = value
        return out

    async def _new_services_doc(self, account_id: str) -> dict | None:
        """kz_services:create/2: the services document of an account that has none (None when
        the account does not exist either)."""
        try:
            account = await self.couch.get_doc(names.account_db(account_id), account_id)
        except NotFound:
            return None
        master = await self.config.get("accounts", "master_account_id")
        now = names.gregorian_now()
        doc: dict = {
            "_id": account_id,
            "pvt_vsn": 2,
            "pvt_account_id": account_id,
            "pvt_account_db": names.encode(names.account_db(account_id)),
            "pvt_created": now,
            "pvt_modified": now,
            "pvt_type": "service",
            "pvt_node": self.writes.node,
            "pvt_status": GOOD_STANDING,
            "pvt_reseller_id": await self.info.reseller_id(account, master),
            "pvt_tree": account.get("pvt_tree") or [],
            "quantities": {"account": {}, "cascade": {}},
        }
        doc["pvt_document_hash"] = document_hash(doc)
        return doc

    async def _store(self, account_id: str, which: str, counts: Counts, new: dict | None = None) -> dict | None:
        """Set the number categories of `quantities.<which>` in the account's services
        document (`new` when it has none); the stored document (written or not), None when
        there is none."""

        def change(stored: dict | None) -> dict | None:
            if stored is None and new is not None:
                stored = {**new, "quantities": {"account": {}, "cascade": {}}}
            if stored is None or stored.get("pvt_deleted"):
                return None
            quantities = stored.get("quantities")
            quantities = quantities if isinstance(quantities, dict) else {}
            section = quantities.get(which)
            section = section if isinstance(section, dict) else {}
            updated = {**{k: v for k, v in section.items() if k not in CATEGORIES}, **counts}
            if updated == section:
                return None
            return {**stored, "quantities": {**quantities, which: updated}, "pvt_modified": names.gregorian_now()}

        return await self.writes.update(SERVICES, account_id, change)
