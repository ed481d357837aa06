"""The 3-node CouchDB 3 cluster the cluster tier runs on, and its nodes' lives.

The tier runs when KAZOO_COUCHDB_URL is the first node of a 3-node cluster (its `/_membership`
lists three `cluster_nodes`); the other two nodes answer HTTP on the next two ports, or on the
ports KAZOO_COUCHDB_CLUSTER_PORTS lists ("5984,5985,5986"). Killing and restarting a node needs
the cluster's start script and state folder, as CouchDB 3.5's test build lays them out:
KAZOO_COUCHDB3_DIR (the folder with start.sh) and KAZOO_COUCHDB3_STATE (the DIR given to
`start.sh DIR PORT 3`; node i's pid is in DIR/cluster-PORT/node<i>/couchdb.pid). `start.sh` is
idempotent: run again, it restarts the nodes that died and waits for the cluster to be whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from base64 import b64encode
from pathlib import Path

from yarl import URL

from ..eventually import eventually_blocking

RESTART_TIMEOUT_S = 180.0


def _get(url: URL, path: str, timeout_s: float = 5.0) -> dict:
    request = urllib.request.Request(str(url.with_user(None).with_path(path)))
    if url.user:
        token = b64encode(f"{url.user}:{url.password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=timeout_s) as resp:
        return json.loads(resp.read())


def why_not_a_cluster() -> str | None:
    """None when KAZOO_COUCHDB_URL is a 3-node cluster, else why the tier is skipped."""
    url = os.environ.get("KAZOO_COUCHDB_URL")
    if not url:
        return "the cluster tier needs KAZOO_COUCHDB_URL of a 3-node CouchDB 3 cluster (make test-cluster)"
    try:
        members = _get(URL(url), "/_membership").get("cluster_nodes", [])
    except (OSError, ValueError) as exc:
        return f"KAZOO_COUCHDB_URL does not answer /_membership: {exc}"
    if len(members) != 3:
        return f"KAZOO_COUCHDB_URL is not a 3-node cluster ({len(members)} node(s))"
    return None


class Cluster:
    def __init__(self, url: str):
        self.url = URL(url)
        listed = os.environ.get("KAZOO_COUCHDB_CLUSTER_PORTS", "")
        base = self.url.port or 5984
        self.ports = [int(p) for p in listed.split(",")] if listed else [base, base + 1, base + 2]
        script = os.environ.get("KAZOO_COUCHDB3_DIR")
        state = os.environ.get("KAZOO_COUCHDB3_STATE")
        self.start_sh = Path(script) / "start.sh" if script else None
        self.state = Path(state) if state else None

    def node_url(self, i: int) -> str:
        """The URL of node i (0, 1, 2), credentials included."""
        return str(self.url.with_port(self.ports[i])).rstrip("/")

    def why_no_restarts(self) -> str | None:
        if self.start_sh is None or self.state is None:
            return "killing a node needs KAZOO_COUCHDB3_DIR (start.sh's folder) and KAZOO_COUCHDB3_STATE"
        if not self.start_sh.is_file() or not self._pid_file(0).is_file():
            return f"no start.sh in {self.start_sh.parent} or no pid files under {self.state}"
        return None

    def _pid_file(self, i: int) -> Path:
        assert self.state is not None
        return self.state / f"cluster-{self.ports[0]}" / f"node{i + 1}" / "couchdb.pid"

    def pid(self, i: int) -> int:
        return int(self._pid_file(i).read_text().strip())

    def kill9(self, i: int) -> None:
        """kill -9 node i's VM and wait until it is gone."""
        pid = self.pid(i)
        os.kill(pid, signal.SIGKILL)

        def gone() -> bool:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                return True
            return stat.rsplit(")", 1)[1].split()[0] == "Z"

        eventually_blocking(gone, what=f"CouchDB node {i + 1} (pid {pid}) dies", timeout_s=30)

    def restart(self) -> None:
        """Start the nodes that are down again (start.sh returns once the cluster is whole)."""
        assert self.start_sh is not None and self.state is not None
        subprocess.run(
            [str(self.start_sh), str(self.state), str(self.ports[0]), "3"],
            check=True,
            timeout=RESTART_TIMEOUT_S,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        eventually_blocking(self.whole, what="all three CouchDB nodes are members again", timeout_s=60)

    def whole(self) -> bool:
        for i in range(3):
            try:
                members = _get(URL(self.node_url(i)), "/_membership").get("cluster_nodes", [])
                up = _get(URL(self.node_url(i)), "/_up")
            except OSError:
                return False
            if len(members) != 3 or up.get("status") != "ok":
                return False
        return True
