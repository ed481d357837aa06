"""Reads made in the background while a cluster node dies: every answer's status and body."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any


class Probe:
    """GET each path in turn, over and over, until stopped; `seen` holds (time, path, status, body)."""

    def __init__(self, client: Any, paths: list[str], headers: dict[str, str]):
        self.client, self.paths, self.headers = client, paths, headers
        self.seen: list[tuple[float, str, int, Any]] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> Probe:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while not self._stop.is_set():
            for path in self.paths:
                resp = await self.client.get(path, headers=self.headers)
                try:
                    body = await resp.json()
                except ValueError:
                    body = await resp.text()
                self.seen.append((time.monotonic(), path, resp.status, body))
            await asyncio.sleep(0.05)  # a client's pace, not a wait for anything

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    def statuses(self) -> Counter[int]:
        return Counter(status for _, _, status, _ in self.seen)

    def wrong(self) -> list[tuple[str, int, Any]]:
        """Answers other than 200 and Kazoo's 503 envelope."""
        out = []
        for _, path, status, body in self.seen:
            if status == 200:
                continue
            kazoo_503 = status == 503 and isinstance(body, dict) and body.get("error") == "503"
            if not (kazoo_503 and body.get("status") == "error"):
                out.append((path, status, body))
        return out
