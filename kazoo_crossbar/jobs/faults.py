"""Crash points for the fault-injection tests.

`KAZOO_CROSSBAR_CRASH_AT=<point>:<n>` makes the process SIGKILL itself the
n-th time it passes <point> (a real kill -9: no cleanup runs). Unset in
production, where `point` is a dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_spec = os.environ.get("KAZOO_CROSSBAR_CRASH_AT", "")
_target, _, _count = _spec.partition(":")
_seen: dict[str, int] = {}


def point(name: str) -> None:
    if not _target or name != _target:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] >= int(_count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
