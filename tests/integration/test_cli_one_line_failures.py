"""Every command ends a failure with one line on stderr and a non-zero exit."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from ..cli import kc, one_line_failure
from ..conftest import free_port

SECRET = "0123456789abcdef-not-for-your-eyes"


def test_version():
    proc = kc("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("kazoo-crossbar ") and proc.stdout.split()[1][0].isdigit()


def test_bad_couchdb_url_option_and_env():
    one_line_failure(kc("setup", "--couchdb-url", "http://admin:pw@[oops"), "setup", "--couchdb-url", "http(s) URL")
    line = one_line_failure(kc("serve", env={"KAZOO_COUCHDB_URL": "localhost:5984"}), "serve", "KAZOO_COUCHDB_URL")
    assert "pw" not in line


def test_port_not_a_number():
    one_line_failure(kc("serve", env={"KAZOO_CROSSBAR_PORT": "abc"}), "serve", "KAZOO_CROSSBAR_PORT", "'abc'")


def test_port_already_in_use(couchdb_url, master):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = kc("serve", "--host", "127.0.0.1", "--port", str(port), env={"KAZOO_COUCHDB_URL": couchdb_url})
    one_line_failure(proc, "serve", f"cannot listen on 127.0.0.1:{port}", "--port")


def test_setup_with_couchdb_down_names_the_url_without_password():
    url = f"http://admin:{SECRET}@127.0.0.1:{free_port()}"
    line = one_line_failure(
        kc("setup", "--couchdb-url", url), "setup", "is not answering", "waited 5 s", "http://admin:***@127.0.0.1:"
    )
    assert SECRET not in line


def test_couchdb_without_node():
    proc = kc("couchdb", "--in-memory", env={"PATH": "/nonexistent"})
    one_line_failure(proc, "couchdb", "Node.js")


def test_jobs_with_the_api_down(tmp_path):
    numbers = tmp_path / "n.txt"
    numbers.write_text("+12223334444\n")
    proc = kc(
        "jobs", "--url", f"http://127.0.0.1:{free_port()}", "--api-key", SECRET, "add", "--resource", "r", str(numbers)
    )
    line = one_line_failure(proc, "jobs", "cannot connect to 127.0.0.1")
    assert SECRET not in line


def test_jobs_missing_numbers_file(tmp_path):
    proc = kc("jobs", "add", "--api-key", SECRET, "--resource", "r", str(tmp_path / "missing.csv"))
    one_line_failure(proc, "jobs", "missing.csv: no such file")


def test_jobs_argparse_error_does_not_echo_the_api_key():
    for argv in (
        ("jobs", "--api-key", SECRET, "frobnicate"),
        ("jobs", f"--api-key={SECRET}", "add"),
        ("--api-key", SECRET, "jobs", "list"),
    ):
        proc = kc(*argv)
        assert proc.returncode == 2 and SECRET not in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr


async def test_jobs_show_into_a_closed_pipe_is_quiet(client, master):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already exited
    try:
        proc = await asyncio.to_thread(
            kc,
            "jobs",
            "list",
            "--url",
            str(client.make_url("")).rstrip("/"),
            "--api-key",
            master["api_key"],
            stdout=write_end,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141 and proc.stderr == "", proc.stderr


async def test_jobs_api_error_is_one_line(client, master, tmp_path):
    numbers = tmp_path / "n.txt"
    numbers.write_text("+12223334444\n")
    proc = await asyncio.to_thread(
        kc,
        "jobs",
        "add",
        "--resource",
        "no-such-resource",
        str(numbers),
        "--url",
        str(client.make_url("")).rstrip("/"),
        env={"KAZOO_API_KEY": master["api_key"]},
    )
    one_line_failure(proc, "jobs", "not_found")


@pytest.mark.parametrize("argv", [("accounts", "list"), ("accounts", "create", "X")])
def test_accounts_with_couchdb_down(argv):
    url = f"http://admin:{SECRET}@127.0.0.1:{free_port()}"
    line = one_line_failure(kc(*argv, "--couchdb-url", url), "accounts", "is not answering", "admin:***@")
    assert SECRET not in line


def test_couchdb_port_already_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = kc("couchdb", "--in-memory", "--port", str(busy.getsockname()[1]))
    one_line_failure(proc, "couchdb", "cannot listen on 127.0.0.1:", "ddress already in use", "--port")


def test_couchdb_unusable_data_dir(tmp_path):
    """A data folder that cannot be made is one line, not node's stack trace (or a hang under /proc)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = kc("couchdb", "--port", str(free_port()), "--data-dir", str(blocker / "couchdb"))
    one_line_failure(proc, "couchdb", f"cannot use --data-dir {blocker / 'couchdb'}", "writable folder")
    proc = kc("couchdb", "--port", str(free_port()), "--data-dir", "/proc/kazoo-crossbar-couchdb")
    one_line_failure(proc, "couchdb", "cannot use --data-dir /proc/kazoo-crossbar-couchdb")


def test_couchdb_host_not_of_this_machine():
    proc = kc("couchdb", "--in-memory", "--host", "192.0.2.1", "--port", str(free_port()))
    one_line_failure(proc, "couchdb", "cannot listen on 192.0.2.1:")
