"""The operator's commands end to end (issue 22 items 2-6): `resources list|create`, `users create`
and a login with it, `jobs add` that fails every number, `setup --state-file` keeping the admin
password (mode 600), secrets never echoed, and the messages that used to point the wrong way."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
import subprocess
import sys

import pytest
from yarl import URL

from kazoo_crossbar.storage import names, provision

from ..conftest import free_port
from ..kazoo import numbers_block


def kc(*args: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAZOO_")}
    return subprocess.run(
        [sys.executable, "-m", "kazoo_crossbar", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def ok(*args: str, **kw) -> list:
    proc = await asyncio.to_thread(kc, *args, **kw)
    assert proc.returncode == 0, proc.stderr
    try:
        return [json.loads(proc.stdout)]  # one (indented) document
    except ValueError:
        return [json.loads(line) for line in proc.stdout.splitlines()]  # one per line


async def failing(*args: str, **kw) -> str:
    """The one error line of a failed command."""
    proc = await asyncio.to_thread(kc, *args, **kw)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    line = proc.stderr.splitlines()[-1]
    assert line.startswith(f"kazoo-crossbar {args[0]}: error: ") and "Traceback" not in proc.stderr, proc.stderr
    return line


@pytest.fixture(scope="module")
def api(client) -> str:
    return str(client.make_url("")).rstrip("/")


@pytest.fixture(scope="module")
async def acme(kazoo):
    return await kazoo.plain_account("Operator CLI", allow_additions=True)


# --- item 3: resources list|create, local or global ----------------------------------------------------
async def test_resources_create_and_list_local_and_global(api, acme, master):
    key = {"KAZOO_API_KEY": acme["pvt_api_key"], "KAZOO_CROSSBAR_URL": api}
    [made] = await ok(
        "resources", "create", "--name", "Local SIP", "--server", "sip1.example", "--server", "sip2.example",
        "--rule", r"^\+1(\d{10})$", "--weight", "20", env=key,
    )  # fmt: skip
    assert made["name"] == "Local SIP" and [g["server"] for g in made["gateways"]] == ["sip1.example", "sip2.example"]
    assert made["rules"] == [r"^\+1(\d{10})$"] and made["weight_cost"] == 20
    listed = await ok("resources", "list", env=key)
    assert {"id": made["id"], "name": "Local SIP", "enabled": True, "weight_cost": 20} in listed
    # the whole document from stdin, an option over it
    [other] = await ok(
        "resources", "create", "--data", "-", "--weight", "5", env=key,
        stdin=json.dumps({"name": "From JSON", "gateways": [{"server": "j.example", "port": 5080}]}),
    )  # fmt: skip
    assert other["gateways"][0]["port"] == 5080 and other["weight_cost"] == 5
    # a global carrier needs a super-duper admin: the master can, the account cannot
    master_key = {"KAZOO_API_KEY": master["api_key"], "KAZOO_CROSSBAR_URL": api}
    [wholesale] = await ok("resources", "--global", "create", "--name", "CLI Wholesale", env=master_key)
    assert wholesale["id"] in {r["id"] for r in await ok("resources", "list", "--global", env=master_key)}
    assert wholesale["id"] not in {r["id"] for r in listed}
    line = await failing("resources", "create", "--global", "--name", "Nope", env=key)
    assert "403" in line and acme["pvt_api_key"] not in line
    # the server's field errors, one line
    line = await failing("resources", "create", "--name", "Bad", "--weight", "500", env=key)
    assert "400" in line and "weight_cost" in line


# --- item 3: every number failed is a failure, with its likely cause -------------------------------------
async def test_jobs_add_that_fails_every_number_exits_non_zero_with_the_likely_cause(api, master, tmp_path):
    key = {"KAZOO_API_KEY": master["api_key"], "KAZOO_CROSSBAR_URL": api}
    [carrier] = await ok("resources", "--global", "create", "--name", "No Phonebook", env=key)
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n".join(numbers_block(5)) + "\n")
    failures = tmp_path / "failures.csv"
    proc = await asyncio.to_thread(
        kc, "jobs", "add", "--resource", carrier["id"], "--poll", "0.2", "--failures", str(failures), str(numbers),
        env=key,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)  # the summary is still printed
    assert summary["added"] == 0 and summary["failed"] == 5 and summary["failed_by_reason"] == {"unspecified_fault": 5}
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("kazoo-crossbar jobs: error: every number failed (5 of 5): the resource is a global carrier")
    assert "number_manager.other" in last and "phonebook_url" in last
    assert len(failures.read_text().splitlines()) == 6


# --- item 4: users ------------------------------------------------------------------------------------
async def test_users_create_writes_kazoos_user_and_it_logs_in(couchdb_url, couch, client, acme):
    env = {"KAZOO_COUCHDB_URL": couchdb_url}
    [made] = await ok(
        "users", "create", "--account", acme["_id"], "--username", "Night.Shift", "--password", "pw-1", env=env
    )
    assert made["username"] == "night.shift" and "password" not in made  # a given password is never echoed
    stored = await couch.get_doc(names.account_db(acme["_id"]), made["id"])
    assert (stored["pvt_md5_auth"], stored["pvt_sha1_auth"]) == provision.credentials("night.shift", "pw-1")
    assert stored["pvt_type"] == "user" and stored["priv_level"] == "admin" and "password" not in stored
    assert stored["hotdesk"] == {"enabled": False, "keep_logged_in_elsewhere": False, "require_pin": False}
    assert stored["pvt_signature_secret"] and stored["pvt_account_id"] == acme["_id"]
    # the README's request: md5 of "username:password" and the account's name
    creds = hashlib.md5(b"night.shift:pw-1").hexdigest()
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": creds, "account_name": "Operator CLI"}})
    body = await resp.json()
    assert resp.status == 201, body
    assert body["data"]["owner_id"] == made["id"] and body["data"]["account_id"] == acme["_id"]
    # generated when not given (printed once), unique per account
    [gen] = await ok("users", "create", "--account", acme["_id"], "--username", "day", "--priv-level", "user", env=env)
    assert len(gen["password"]) >= 16 and gen["priv_level"] == "user"
    line = await failing("users", "create", "--account", acme["_id"], "--username", "NIGHT.shift", env=env)
    assert "already exists" in line


# --- item 5: secrets ----------------------------------------------------------------------------------
async def test_setup_state_file_keeps_the_admin_password_and_is_mode_600(couchdb_url, couch, master, tmp_path):
    env = {"KAZOO_COUCHDB_URL": couchdb_url}
    state = tmp_path / "var" / "setup.json"
    state.parent.mkdir()
    state.write_text("{}")
    state.chmod(0o644)  # as the old `tee` left it
    [first] = await ok(
        "setup", "--admin-username", "keeper", "--admin-password", "first-pw", "--state-file", str(state), env=env
    )
    assert first["admin_password"] == "first-pw"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    # the second run (make run again): the user exists, nothing is generated, the password is kept
    [second] = await ok("setup", "--admin-username", "keeper", "--state-file", str(state), env=env)
    assert second["admin_password"] == "first-pw" == json.loads(state.read_text())["admin_password"]
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    # changed elsewhere meanwhile: not reported as if it still worked, and said so
    user = await provision.find_user(couch, master["master_account_id"], "keeper")
    user["pvt_md5_auth"], user["pvt_sha1_auth"] = provision.credentials("keeper", "changed")
    await couch.save_doc(names.account_db(master["master_account_id"]), user)
    [third] = await ok("setup", "--admin-username", "keeper", "--state-file", str(state), env=env)
    assert "admin_password" not in third and "no longer logs in" in third["admin_password_note"]


async def test_a_wrong_api_key_is_never_echoed(api):
    zeros = "0" * 64
    line = await failing("jobs", "list", "--api-key", zeros, env={"KAZOO_CROSSBAR_URL": api})
    assert "404 bad identifier" in line and zeros not in line and "***" in line


# --- item 6: messages that point the right way ------------------------------------------------------------
async def test_setup_pointed_at_the_api_says_it_is_not_couchdb(api):
    line = await failing("setup", "--couchdb-url", api, "--wait", "5")
    assert "answers, but it is not CouchDB" in line and "JSONDecodeError" not in line


async def test_jobs_url_without_a_scheme():
    port = free_port()
    line = await failing("jobs", "--url", f"localhost:{port}", "--api-key", "k", "list")
    assert line.endswith(f"--url localhost:{port} has no scheme; write it as http://localhost:{port}")


async def test_jobs_url_pointed_at_couchdb(couchdb_url):
    # without the admin credentials a CouchDB 3 URL carries: `jobs` refuses credentials in --url
    line = await failing("jobs", "--url", str(URL(couchdb_url).with_user(None)), "--api-key", "k", "list")
    assert "an answer of CouchDB, not of the Crossbar API" in line and "not_found: null" not in line


async def test_jobs_show_summary_full_and_the_hint_for_a_descendants_job(api, kazoo, acme, tmp_path):
    child = await kazoo.account(parent=acme, name="CLI Child")
    child_key = {"KAZOO_API_KEY": child["pvt_api_key"], "KAZOO_CROSSBAR_URL": api}
    [carrier] = await ok("resources", "create", "--name", "Child SIP", env=child_key)
    numbers = tmp_path / "n.txt"
    numbers.write_text("\n".join(numbers_block(3)) + "\nn/a\n")
    [summary] = await ok("jobs", "add", "--resource", carrier["id"], "--poll", "0.2", str(numbers), env=child_key)
    job_id = summary["jobs"][0]
    parent_key = {"KAZOO_API_KEY": acme["pvt_api_key"], "KAZOO_CROSSBAR_URL": api}
    line = await failing("jobs", "show", job_id, env=parent_key)
    assert f"not in the API key's account {acme['_id']}" in line and "--account ACCOUNT_ID" in line
    [shown] = await ok("jobs", "show", job_id, "--account", child["_id"], env=parent_key)
    assert shown["successes"] == 3 and shown["status"] == "complete" and shown["timestamp"].endswith("Z")
    assert "numbers" in shown and "success" not in shown  # a summary, not the document
    [full] = await ok("jobs", "show", job_id, "--account", child["_id"], "--full", env=parent_key)
    assert len(full["successes"]) == 3 and isinstance(full["timestamp"], int)


async def test_jobs_list_takes_and_prints_iso_8601(api, acme, tmp_path):
    key = {"KAZOO_API_KEY": acme["pvt_api_key"], "KAZOO_CROSSBAR_URL": api}
    [carrier] = await ok("resources", "create", "--name", "Dated", env=key)
    numbers = tmp_path / "n.txt"
    numbers.write_text(numbers_block(1)[0] + "\n")
    [summary] = await ok("jobs", "add", "--resource", carrier["id"], "--poll", "0.2", str(numbers), env=key)
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    [rows] = await ok(
        "jobs", "list", "--created-from", str(today - timedelta(days=1)), "--created-to", str(today), env=key
    )
    [row] = [r for r in rows if r["id"] == summary["jobs"][0]]
    assert row["timestamp"].startswith(str(today)) and row["timestamp"].endswith("Z")
    assert isinstance(row["timestamp_gregorian"], int)
    [old] = await ok("jobs", "list", "--created-from", "2020-01-01", "--created-to", "2020-01-20", env=key)
    assert old == []
    proc = await asyncio.to_thread(kc, "jobs", "list", "--created-from", "last week", env=key)
    assert proc.returncode == 2 and "is not a date" in proc.stderr


async def test_jobs_add_splits_by_the_limit_the_server_answers(api, acme, kazoo, tmp_path):
    """No job size is written into the CLI: a job over the server's job_max_numbers is refused
    (400 numbers.maxItems) and the numbers go again in jobs of the limit it answered."""
    key = {"KAZOO_API_KEY": acme["pvt_api_key"], "KAZOO_CROSSBAR_URL": api}
    [carrier] = await ok("resources", "create", "--name", "Small Jobs", env=key)
    numbers = tmp_path / "n.txt"
    numbers.write_text("\n".join(numbers_block(12)) + "\n")
    async with kazoo.system_config("crossbar.resources", job_max_numbers=5):
        proc = await asyncio.to_thread(
            kc, "jobs", "add", "--resource", carrier["id"], "--name", "Split", "--poll", "0.2", str(numbers), env=key
        )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert len(summary["jobs"]) == 3 and summary["added"] == 12
    assert "at most 5 numbers per job" in proc.stderr
