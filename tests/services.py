"""The service as a real subprocess (for crash, recovery and multi-node tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .conftest import free_port
from .eventually import eventually_blocking


class ServiceProcess:
    def __init__(
        self,
        couchdb_url: str,
        node: str,
        log_dir: Path,
        *,
        args: tuple[str, ...] = (),
        preexec_fn: Callable[[], None] | None = None,
        **env: str,
    ):
        self.args, self.preexec_fn = args, preexec_fn  # extra `serve` options; run in the child before exec
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.node = node
        self.log_path = log_dir / f"{node.split('@')[0]}-{self.port}.log"
        self.env = {
            **os.environ,
            "KAZOO_COUCHDB_URL": couchdb_url,
            "KAZOO_NODE_NAME": node,
            "KAZOO_CROSSBAR_HOST": "127.0.0.1",
            "KAZOO_CROSSBAR_PORT": str(self.port),
            **env,
        }
        if "KAZOO_AMQP_URL" not in env:
            self.env.pop("KAZOO_AMQP_URL", None)
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 30.0) -> ServiceProcess:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kazoo_crossbar", "serve", *self.args],
            env=self.env,
            stdout=self._log,
            stderr=self._log,
            preexec_fn=self.preexec_fn,
        )
        proc = self.proc

        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"service exited with {proc.returncode}: {self.log_path.read_text()[-2000:]}")
            with urllib.request.urlopen(self.url + "/", timeout=1):
                return True

        eventually_blocking(answers, what=f"service {self.node} answers", timeout_s=timeout_s, retry_on=(OSError,))
        return self

    def wait_exit(self, timeout_s: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout_s)

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()
        if hasattr(self, "_log"):
            self._log.close()

    def events(self, name: str) -> list[dict]:
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == name:
                out.append(event)
        return out
