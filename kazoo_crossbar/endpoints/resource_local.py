"""Local (account) resources only: the peer checks and the `sip_auth` copy
(cb_local_resources). A resource whose gateways register, or that peers,
is copied into `sip_auth` under the same id so the registrar and ecallmgr
see it; otherwise any old copy is removed."""
from __future__ import annotations

import ipaddress
from typing import Any

from ..http import errors
from ..http.context import Context, is_false
from ..storage import names, views
from ..storage.couch import Conflict, NotFound
from ..validation import merge_errors


def registers(doc: dict) -> bool:
    """A gateway that registers and is enabled (defaults already applied: absent enabled is true)."""
    return any(isinstance(gw, dict) and gw.get("register") is True and gw.get("enabled", True) is not False
               for gw in doc.get("gateways") or [])


def _ipv4(value: Any) -> ipaddress.IPv4Address | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        return None


async def _ip_in_use(ctx: Context, ip: ipaddress.IPv4Address, resource_id: str | None) -> bool:
    acls = await ctx.services.config.get("ecallmgr", "acls") or {}
    for acl in acls.values() if isinstance(acls, dict) else ():
        if not isinstance(acl, dict) or (resource_id and acl.get("authorizing_id") == resource_id):
            continue
        try:
            if ip in ipaddress.ip_network(str(acl.get("cidr", "")), strict=False):
                return True
        except ValueError:
            continue
    try:
        rows = (await views.query(ctx.services.couch, names.SIP_AUTH, "credentials", "lookup_by_ip",
                                  key=str(ip)))["rows"]
    except NotFound:
        return False
    return any(row["id"] != resource_id for row in rows)


async def _peer_errors(ctx: Context, doc: dict, resource_id: str | None) -> dict:
    problems: list[dict] = []
    gateways = doc.get("gateways") or []
    for index in reversed(range(len(gateways))):
        gw = gateways[index] if isinstance(gateways[index], dict) else {}
        inbound, server = _ipv4(gw.get("inbound_ip")), _ipv4(gw.get("server"))
        if inbound is not None:
            if await _ip_in_use(ctx, inbound, resource_id):
                problems.append({f"gateways.{index}.inbound_ip": {"unique": {
                    "message": "Gateway inbound ip is already in use", "cause": index}}})
        elif server is not None:
            if await _ip_in_use(ctx, server, resource_id):
                problems.append({f"gateways.{index}.server": {"unique": {
                    "message": "Gateway server ip is already in use", "cause": index}}})
        else:
            problems.append({f"gateways.{index}.server": {"required": {
                "message": "Gateway server must be an IP when peering with the resource", "cause": index}}})
    return merge_errors(*problems)


def _foreign(stored: dict, account_id: str | None) -> bool:
    """A `sip_auth` document of another account (a device, another account's resource copy)."""
    return bool(stored) and stored.get("pvt_account_id") != account_id


async def owner_conflict(ctx: Context, resource_id: str | None) -> dict | None:
    """The `{"id": {"unique": …}}` error when `sip_auth` holds another account's document with
    this id: writing the resource would overwrite or delete it (a deliberate difference from 4.3)."""
    if not resource_id or resource_id in (".", ".."):
        return None  # not an id at all: the resource lookup answers 404
    try:
        stored = await ctx.services.couch.get_doc(names.SIP_AUTH, resource_id)
    except NotFound:
        return None
    if not _foreign(stored, ctx.account_id):
        return None
    return {"id": {"unique": {"message": "Resource id is already in use", "value": resource_id}}}


async def check(ctx: Context, doc: dict, resource_id: str | None) -> bool:
    """Kazoo's extra checks for local resources; True when the resource belongs in `sip_auth`."""
    if conflict := await owner_conflict(ctx, resource_id):
        raise errors.validation(conflict)
    peer = doc.get("peer", ctx.query.get("peer"))
    if not peer or is_false(peer):
        return registers(doc)
    if await ctx.services.config.get("crossbar.local_resources", "allow_peers", False) is not True:
        raise errors.validation({"peer": {"forbidden": {
            "message": "Peers are currently disabled, please contact the system admin"}}})
    problems = await _peer_errors(ctx, doc, resource_id)
    if problems:
        raise errors.validation(problems)  # every bad gateway at once (4.3 crashed with a 500)
    return True


async def sync_aggregate(ctx: Context, doc: dict, aggregate: bool) -> None:
    if not aggregate:
        await remove_aggregate(ctx, doc["_id"])
        return
    couch = ctx.services.couch
    for _ in range(5):
        try:
            stored = await couch.get_doc(names.SIP_AUTH, doc["_id"])
        except NotFound:
            stored = {}
        if _foreign(stored, ctx.account_id):
            return  # validation refused colliding ids; never touch another account's entry
        # Key-by-key update, as Kazoo: keys dropped from the resource stay in the copy.
        copy = {**stored, **{k: v for k, v in doc.items() if k != "_rev"}}
        if "_rev" in stored:
            copy["_rev"] = stored["_rev"]
        try:
            await couch.save_doc(names.SIP_AUTH, copy)
        except Conflict:
            continue
        await ctx.services.bus.doc_changed(names.SIP_AUTH, copy, copy["_rev"], msg_id=ctx.request_id)
        await ctx.services.bus.reload_switch()  # ecallmgr reloads its gateways and ACLs
        return
    raise errors.conflict()


async def remove_aggregate(ctx: Context, resource_id: str) -> bool:
    """Delete the `sip_auth` copy; True when there was one."""
    couch = ctx.services.couch
    for _ in range(5):
        try:
            stored = await couch.get_doc(names.SIP_AUTH, resource_id)
        except NotFound:
            return False
        if _foreign(stored, ctx.account_id):
            return False  # another account's entry (a device, a resource) is not ours to delete
        try:
            rev = await couch.delete_doc(names.SIP_AUTH, resource_id, stored["_rev"])
        except NotFound:
            return False
        except Conflict:
            continue
        await ctx.services.bus.doc_changed(names.SIP_AUTH, stored, rev, hard_deleted=True, msg_id=ctx.request_id)
        await ctx.services.bus.reload_switch()
        return True
    return False
