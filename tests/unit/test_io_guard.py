"""The guard of tests/unit/conftest.py fails a unit test that opens a connection, listens, starts
a process or asks for CouchDB, and only such a test: a small session of its own (pytester, in
this process) runs examples of each under a copy of that conftest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

UNIT_CONFTEST = Path(__file__).with_name("conftest.py")

# stands for tests/conftest.py: session fixtures that would start CouchDB and a server
ROOT_CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def couchdb_url():
    return "http://127.0.0.1:9"

@pytest.fixture(scope="session")
def client(couchdb_url):
    return object()
"""

EXAMPLES = """
import asyncio
import os
import socket
import subprocess

def test_pure():
    assert sorted([3, 1, 2]) == [1, 2, 3]

def test_reads_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    assert (tmp_path / "f").read_text() == "x"

def test_connects():
    socket.create_connection(("127.0.0.1", 9), timeout=1)

def test_connects_and_swallows_the_error():
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    except Exception:
        pass

def test_connects_with_asyncio():
    asyncio.run(asyncio.open_connection("127.0.0.1", 9))

def test_listens():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))

def test_runs_a_process():
    subprocess.run(["true"], check=True)

def test_runs_a_shell_command():
    os.system("true")

def test_asks_for_couchdb(couchdb_url):
    pass

def test_asks_for_the_server_started_before(client):
    pass
"""


def test_the_guard_fails_exactly_the_tests_that_reach_out(pytester: pytest.Pytester):
    pytester.makeconftest(ROOT_CONFTEST)
    # an earlier test outside unit/ has started the session server already
    pytester.makepyfile(test_a_first="def test_uses_the_server(client):\n    pass\n")
    unit = pytester.mkpydir("unit")
    (unit / "conftest.py").write_text(UNIT_CONFTEST.read_text())
    (unit / "test_examples.py").write_text(EXAMPLES)

    reports = pytester.inline_run(
        "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function"
    ).getreports("pytest_runtest_logreport")
    failed = {r.nodeid.split("::")[-1] for r in reports if r.failed}
    ran = {r.nodeid.split("::")[-1] for r in reports}

    assert ran == {"test_uses_the_server", *re.findall(r"^def (\w+)", EXAMPLES, re.M)}
    assert failed == ran - {"test_uses_the_server", "test_pure", "test_reads_a_file"}
