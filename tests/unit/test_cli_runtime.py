"""Runtime choices of the commands: `serve` on uvloop when installed (else the standard loop);
the embedded CouchDB with a capped V8 heap."""

from __future__ import annotations

import asyncio
import sys

import uvloop

from kazoo_crossbar.cli import event_loop
from kazoo_crossbar.couchdb_launcher import couchdb_node_flags


def test_uvloop_when_installed():
    loop = event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        loop.close()


def test_standard_loop_without_uvloop(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    loop = event_loop()
    try:
        assert not isinstance(loop, uvloop.Loop) and isinstance(loop, asyncio.AbstractEventLoop)
        assert loop.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        loop.close()


def test_couchdb_heap_cap(monkeypatch):
    monkeypatch.delenv("KAZOO_COUCHDB_HEAP_MB", raising=False)
    assert couchdb_node_flags() == ["--max-old-space-size=384"]
    assert couchdb_node_flags(in_memory=True) == ["--max-old-space-size=4096"]  # its data lives on the heap
    monkeypatch.setenv("KAZOO_COUCHDB_HEAP_MB", "1024")
    assert couchdb_node_flags() == ["--max-old-space-size=1024"]
    assert couchdb_node_flags(in_memory=True) == ["--max-old-space-size=1024"]


def test_couchdb_heap_cap_must_be_megabytes(monkeypatch):
    from kazoo_crossbar.cli_errors import CliError

    monkeypatch.setenv("KAZOO_COUCHDB_HEAP_MB", "lots")
    try:
        couchdb_node_flags()
    except CliError as exc:
        assert "KAZOO_COUCHDB_HEAP_MB" in str(exc)
    else:
        raise AssertionError("a heap size that is not a number was accepted")
