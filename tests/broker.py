"""The real RabbitMQ on 127.0.0.1:5672, in a virtual host of this test run's own.

Test runs on one machine share the broker; Kazoo's queue names (`resource_jobs_listener`) are
fixed, so two runs in the same virtual host would take each other's jobs. Each run makes its own
vhost with `rabbitmqctl` (root on these machines) and removes it at the end; without rabbitmqctl
the default vhost is used, as a lone CI run can afford."""
from __future__ import annotations

import os
import shutil
import subprocess
from urllib.parse import quote

VHOST = f"kazoo-crossbar-test-{os.getpid()}"
_created = False


def _ctl(*args: str) -> bool:
    ctl = shutil.which("rabbitmqctl")
    if not ctl:
        return False
    try:
        return subprocess.run([ctl, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def create_vhost() -> None:
    global _created
    _created = _ctl("add_vhost", VHOST) and _ctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")


def delete_vhost() -> None:
    if _created:
        _ctl("delete_vhost", VHOST)


def amqp_url(port: int = 5672) -> str:
    vhost = quote(VHOST, safe="") if _created else ""
    return f"amqp://guest:guest@127.0.0.1:{port}/{vhost}"
