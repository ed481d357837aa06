"""When ecallmgr must reload its ACLs and gateways (`switch.reload_acls`, `switch.reload_gateways`),
decided in one place from what a resources request wrote.

Kazoo 4.3 sends both when a global resource (`offnet`) is saved, patched, deleted or saved in a
collection (`cb_resources:maybe_reload_acls`, before the write), and when a local resource's
`sip_auth` copy is written or removed (`cb_local_resources:maybe_aggregate_resource(s)`,
`maybe_remove_aggregate(s)`: once per resource). Here they are sent once per request, after the
writes, when any of those happened: a local collection of N registering resources sends one pair,
as the global path does (a deliberate difference, docs/decisions.md)."""

from __future__ import annotations

from dataclasses import dataclass

from ..bus.base import Bus


@dataclass
class SwitchWrites:
    """What one request wrote that ecallmgr reads: global resources, `sip_auth` copies."""

    offnet: int = 0
    sip_auth: int = 0


def reload_due(written: SwitchWrites) -> bool:
    return written.offnet > 0 or written.sip_auth > 0


async def reload_switch_after(bus: Bus, written: SwitchWrites) -> None:
    if reload_due(written):
        await bus.reload_switch()
