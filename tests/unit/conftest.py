"""tests/unit/ is pure: no network, no other process. Every unit test runs with socket connects,
binds and process starts refused; an attempt fails the test even when the code under test
swallows the error (it is remembered and reported at teardown). Tests that need CouchDB, the
broker, Node or a server go to tests/integration/. tests/unit/test_io_guard.py proves this."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest


class IOInUnitTest(RuntimeError):
    """Raised where a unit test reaches for the network or another process (not an OSError, so
    connection-error handling does not mistake it for a refused connection)."""


@pytest.fixture(autouse=True)
def no_io(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args[1:2] or args[:1]}")
            raise IOInUnitTest(f"a unit test may not {what}: move it to tests/integration/")

        return refused

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse(f"socket.{name}"))
    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse("start a process"))
    for name in ("system", "fork", "posix_spawn", "posix_spawnp"):
        monkeypatch.setattr(os, name, refuse(f"os.{name}"))
    yield attempts
    if attempts:
        pytest.fail(f"I/O in a unit test: {attempts}", pytrace=False)


@pytest.fixture
def couchdb_url() -> str:
    """Shadows tests/conftest.py's: every fixture there that reaches CouchDB or serves HTTP (couch,
    master, settings, client, kazoo, master_token) depends on it, so a unit test asking for any
    of them fails here, even when an earlier integration test has already started them."""
    pytest.fail("a unit test has no CouchDB or test server: move it to tests/integration/", pytrace=False)
