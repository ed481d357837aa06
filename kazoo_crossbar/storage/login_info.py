"""What Kazoo puts in a login answer besides the token (crossbar_util:populate_resp/3):
the apps of the master account's app store, the language, the reseller.

Read-only: Kazoo's own side effects here (cb_apps_util:set_account correcting an app's
`pvt_account_db`, cb_apps_maintenance:migrate creating a missing `apps_store` doc) are left to
Kazoo (docs/decisions.md)."""

from __future__ import annotations

from typing import Any, TypeGuard

from . import names, views
from .couch import CouchClient, NotFound

SERVICES_DB = "services"
FALLBACK_LANGUAGE = "en-US"


def format_app(app: dict, language: str, default_language: str) -> dict:
    """crossbar_util:format_app/2: `{id, name, api_url, source_url, label}`, unset ones left out;
    the label in the caller's language, else the default one, else en-US."""
    i18n = app.get("i18n")
    if not isinstance(i18n, dict):
        i18n = {}
    label = None
    for lang in (language, default_language, FALLBACK_LANGUAGE):
        entry = i18n.get(lang)
        if isinstance(entry, dict) and entry.get("label") is not None:
            label = entry["label"]
            break
    out = {
        "id": app.get("_id"),
        "name": app.get("name"),
        "api_url": app.get("api_url"),
        "source_url": app.get("source_url"),
        "label": label,
    }
    return {k: v for k, v in out.items() if v is not None}


def _marked_reseller(services: dict | None, account_doc: dict | None) -> bool:
    """kz_services_reseller:is_reseller/1: the services doc's `pvt_reseller`; without a services
    doc (a standalone install keeps none) the account doc's, which promote sets too."""
    doc = services if services is not None else account_doc
    return doc is not None and doc.get("pvt_reseller") is True


def _is_language(value: Any) -> TypeGuard[str]:
    """A language a login answer can carry (a non-empty string); anything else is not set."""
    return isinstance(value, str) and value != ""


class LoginInfo:
    def __init__(self, couch: CouchClient):
        self.couch = couch

    async def _doc(self, db: str, doc_id: str) -> dict | None:
        try:
            doc = await self.couch.get_doc(db, doc_id)
        except NotFound:
            return None
        return None if doc.get("pvt_deleted") else doc

    async def apps(self, master_id: str | None, language: str, default_language: str) -> list[dict]:
        """cb_apps_util:load_default_apps: every app of the master account's app store
        (`apps_store/crossbar_listing` with the docs). 4.3's allowed_apps/2 only marks apps
        (un)published for the account and load_apps/3 lists them all, so the list is the store's."""
        if not names.is_account_id(master_id):
            return []
        try:
            res = await views.query(
                self.couch, names.account_db(master_id), "apps_store", "crossbar_listing", include_docs=True
            )
        except NotFound:
            return []
        return [
            format_app(row["doc"], language, default_language)
            for row in res.get("rows", [])
            if isinstance(row.get("doc"), dict)
        ]

    async def language(self, account_doc: dict, owner_id: str | None, default_language: str) -> str:
        """crossbar_util:get_language/2: the user's, else the account's, else crossbar.default_language."""
        if owner_id:
            user = await self._doc(names.account_db(account_doc["_id"]), owner_id)
            if user and _is_language(language := user.get("language")):
                return language
        language = account_doc.get("language")
        return language if _is_language(language) else default_language

    async def _services(self, account_id: str) -> dict | None:
        return await self._doc(SERVICES_DB, account_id)

    async def is_reseller(self, account_id: str, account_doc: dict | None = None) -> bool:
        """Whether the account is a reseller (`_marked_reseller`); its account doc is read only
        when it has no services doc and none was given."""
        services = await self._services(account_id)
        if services is None and account_doc is None:
            account_doc = await self._doc(names.account_db(account_id), account_id)
        return _marked_reseller(services, account_doc)

    async def reseller_id(self, account_doc: dict, master_id: str | None) -> str | None:
        """kz_services_reseller:get_id/1: the services doc's `pvt_reseller_id`; when there is none,
        find_id/1 walks `pvt_tree` from the parent up to the first reseller, else the master.

        The walk reads all ancestors at once (their services docs, then the `accounts` copies of
        those without one): two reads whatever the tree's length. Entries that are not account
        ids, repeats and the account itself (a corrupt tree) are skipped."""
        services = await self._services(account_doc["_id"])
        if services is not None and isinstance(services.get("pvt_reseller_id"), str):
            return services["pvt_reseller_id"]
        tree: Any = account_doc.get("pvt_tree")
        ancestors = list(
            dict.fromkeys(
                a
                for a in reversed(tree if isinstance(tree, list) else [])
                if names.is_account_id(a) and a != account_doc["_id"]
            )
        )
        if ancestors:
            services_docs = await self._docs(SERVICES_DB, ancestors)
            without = [a for a in ancestors if a not in services_docs]
            account_docs = await self._docs(names.ACCOUNTS, without) if without else {}
            for ancestor in ancestors:
                if _marked_reseller(services_docs.get(ancestor), account_docs.get(ancestor)):
                    return ancestor
        return master_id if names.is_account_id(master_id) else None

    async def _docs(self, db: str, ids: list[str]) -> dict[str, dict]:
        """{id: doc} of the ids in one `_all_docs` read; missing and deleted ones left out."""
        try:
            rows = await self.couch.all_docs(db, keys=ids, include_docs=True)
        except NotFound:
            return {}
        return {
            row["key"]: row["doc"]
            for row in rows
            if isinstance(row.get("doc"), dict) and not row["doc"].get("pvt_deleted")
        }
