"""Local (account) resources only: the peer checks and the `sip_auth` copy
(cb_local_resources). A resource whose gateways register, or that peers,
is copied into `sip_auth` under the same id so the registrar and ecallmgr
see it; otherwise any old copy is removed. Whether the copy changed is returned to the
resources endpoint, which decides the switch reload (switch_reload.py)."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..http import errors
from ..http.context import Context, is_false
from ..storage import names, views
from ..storage.couch import Conflict, NotFound
from ..storage.system_config import SystemConfig
from ..storage.writes import Writes
from ..validation import merge_errors
from . import crud


def registers(doc: dict) -> bool:
    """A gateway that registers and is enabled (defaults already applied: absent enabled is true)."""
    return any(
        isinstance(gw, dict) and gw.get("register") is True and gw.get("enabled", True) is not False
        for gw in doc.get("gateways") or []
    )


def _ipv4(value: Any) -> ipaddress.IPv4Address | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        return None


def _foreign(stored: dict | None, account_id: str | None) -> bool:
    """A `sip_auth` document of another account (a device, another account's resource copy)."""
    return stored is not None and stored.get("pvt_account_id") != account_id


class LocalResources:
    """The peer checks and the `sip_auth` copy; its dependencies are given, never looked up."""

    def __init__(self, writes: Writes, config: SystemConfig):
        self.writes, self.config = writes, config

    async def _ip_in_use(self, ip: ipaddress.IPv4Address, resource_id: str | None) -> bool:
        acls = await self.config.get("ecallmgr", "acls") or {}
        for acl in acls.values() if isinstance(acls, dict) else ():
            if not isinstance(acl, dict) or (resource_id and acl.get("authorizing_id") == resource_id):
                continue
            try:
                if ip in ipaddress.ip_network(str(acl.get("cidr", "")), strict=False):
                    return True
            except ValueError:
                continue
        try:
            rows = (await views.query(self.writes.couch, names.SIP_AUTH, "credentials", "lookup_by_ip", key=str(ip)))[
                "rows"
            ]
        except NotFound:
            return False
        return any(row["id"] != resource_id for row in rows)

    async def _peer_errors(self, doc: dict, resource_id: str | None) -> dict:
        problems: list[dict] = []
        gateways = doc.get("gateways") or []
        for index in reversed(range(len(gateways))):
            gw = gateways[index] if isinstance(gateways[index], dict) else {}
            inbound, server = _ipv4(gw.get("inbound_ip")), _ipv4(gw.get("server"))
            if inbound is not None:
                if await self._ip_in_use(inbound, resource_id):
                    problems.append(
                        {
                            f"gateways.{index}.inbound_ip": {
                                "unique": {"message": "Gateway inbound ip is already in use", "cause": index}
                            }
                        }
                    )
            elif server is not None:
                if await self._ip_in_use(server, resource_id):
                    problems.append(
                        {
                            f"gateways.{index}.server": {
                                "unique": {"message": "Gateway server ip is already in use", "cause": index}
                            }
                        }
                    )
            else:
                problems.append(
                    {
                        f"gateways.{index}.server": {
                            "required": {
                                "message": "Gateway server must be an IP when peering with the resource",
                                "cause": index,
                            }
                        }
                    }
                )
        return merge_errors(*problems)

    async def owner_conflict(self, ctx: Context, resource_id: str | None) -> dict | None:
        """The `{"id": {"unique": …}}` error when `sip_auth` holds another account's document with
        this id: writing the resource would overwrite or delete it (a deliberate difference from 4.3)."""
        if not resource_id or not crud.valid_id(resource_id):
            return None  # not an id at all: the resource lookup answers 404
        if not _foreign(await self.writes.get(names.SIP_AUTH, resource_id), ctx.account_id):
            return None
        return {"id": {"unique": {"message": "Resource id is already in use", "value": resource_id}}}

    async def check(self, ctx: Context, doc: dict, resource_id: str | None) -> bool:
        """Kazoo's extra checks for local resources; True when the resource belongs in `sip_auth`."""
        if conflict := await self.owner_conflict(ctx, resource_id):
            raise errors.validation(conflict)
        peer = doc.get("peer", ctx.query.get("peer"))
        if not peer or is_false(peer):
            return registers(doc)
        if await self.config.setting("crossbar.local_resources", "allow_peers") is not True:
            raise errors.validation(
                {"peer": {"forbidden": {"message": "Peers are currently disabled, please contact the system admin"}}}
            )
        problems = await self._peer_errors(doc, resource_id)
        if problems:
            raise errors.validation(problems)  # every bad gateway at once (4.3 crashed with a 500)
        return True

    async def sync_aggregate(self, ctx: Context, doc: dict, aggregate: bool) -> bool:
        """Write (or remove) the `sip_auth` copy; True when `sip_auth` changed."""
        if not aggregate:
            return await self.remove_aggregate(ctx, doc["_id"])

        foreign = False

        def change(stored: dict | None) -> dict | None:
            nonlocal foreign
            if foreign := _foreign(stored, ctx.account_id):
                return None  # validation refused colliding ids; never touch another account's entry
            # Key-by-key update, as Kazoo: keys dropped from the resource stay in the copy.
            stored = stored or {}
            copy = {**stored, **{k: v for k, v in doc.items() if k != "_rev"}}
            if "_rev" in stored:
                copy["_rev"] = stored["_rev"]
            return copy

        try:
            await self.writes.update(names.SIP_AUTH, doc["_id"], change, msg_id=ctx.request_id)
        except Conflict as exc:
            raise errors.conflict() from exc
        return not foreign

    async def remove_aggregate(self, ctx: Context, resource_id: str) -> bool:
        """Delete the `sip_auth` copy; True when there was one."""
        try:
            # another account's entry (a device, a resource) is not ours to delete
            removed = await self.writes.delete_by_id(
                names.SIP_AUTH,
                resource_id,
                msg_id=ctx.request_id,
                only_if=lambda stored: not _foreign(stored, ctx.account_id),
            )
        except Conflict:
            return False
        return removed is not None
