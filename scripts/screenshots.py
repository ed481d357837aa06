"""`make screenshots`: a PNG of every console screen, written to the folder given (docs/console).

Starts a throw-away in-memory CouchDB and the service on free loopback ports, fills them with
demo data (accounts, carriers, a finished import with a failure, a stalled job) through the
public API where it can, and drives Debian's chromium with Playwright. Stops what it started.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # the bench harness's process helpers

from harness import free_port, wait_http  # noqa: E402

from kazoo_crossbar.bus.base import NullBus  # noqa: E402
from kazoo_crossbar.storage import provision  # noqa: E402
from kazoo_crossbar.storage.couch import CouchClient  # noqa: E402
from kazoo_crossbar.storage.writes import Writes  # noqa: E402
from tests.kazoo import stale_job  # noqa: E402  (a job as a Kazoo node saves it)

NODE = "screenshots@localhost"


def call(base: str, method: str, path: str, data=None, token: str | None = None) -> dict:
    body = None if data is None else json.dumps({"data": data}).encode()
    req = urllib.request.Request(
        base + path,
        data=body,
        method=method,
        headers={"Content-Type": "application/json", **({"X-Auth-Token": token} if token else {})},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


async def make_accounts(couch_url: str, master_id: str) -> dict:
    couch = CouchClient(couch_url)
    try:
        master = await provision.get_account(couch, master_id)
        writes = Writes(couch, NullBus(), node="screenshots@setup")
        acme = await provision.create_account(writes, "Acme Telecom", parent=master, allow_additions=True)
        east = await provision.create_account(writes, "Acme East", parent=acme, allow_additions=True)
        west = await provision.create_account(writes, "Acme West", parent=acme, allow_additions=True)
        beta = await provision.create_account(writes, "Beta Networks", parent=master, allow_additions=True)
        await provision.create_user(writes, acme, "operator", "console-demo")
        # small jobs, so the import screenshot shows several (a super-duper admin's console reads this)
        config = await couch.get_doc("system_config", "crossbar.resources")
        config.setdefault("default", {})["job_max_numbers"] = 100
        await couch.save_doc("system_config", config)
        return {"acme": acme, "east": east, "west": west, "beta": beta}
    finally:
        await couch.close()


async def stalled_job(couch_url: str, account: dict, resource_id: str) -> str:
    """A running job untouched for two hours, as a crashed node leaves it (what recovery resumes)."""
    couch = CouchClient(couch_url)
    try:
        numbers = ["+14155550990", "+14155550991"]
        _, job_id = await stale_job(couch, account, resource_id, numbers, status="running", name="Night import")
        return job_id
    finally:
        await couch.close()


def shoot(page: Page, out: Path, name: str, full_page: bool = True) -> None:
    page.wait_for_timeout(150)
    page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)
    print(f"wrote {out / name}.png")


def screens(base: str, api_key: str, accounts: dict, out: Path, chromium: str, stale_job_id: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page.set_default_timeout(30_000)
        page.goto(f"{base}/ui/")
        page.get_by_label("API key", exact=True).wait_for()
        shoot(page, out, "01-login", full_page=False)

        page.get_by_label("API key", exact=True).fill(api_key)
        page.get_by_role("button", name="Log in with API key").click()
        page.get_by_role("link", name="Accounts").click()
        page.locator("#account-tree").wait_for()
        shoot(page, out, "02-accounts")

        page.locator("#account-tree").get_by_role("button", name="Acme Telecom", exact=True).click()
        page.locator("#carriers-table td.servers li").first.wait_for()
        shoot(page, out, "03-carriers")

        page.get_by_label("Search carriers").fill("trunk 1")
        page.locator("#carriers-range").get_by_text("of 60)").wait_for()
        shoot(page, out, "13-carriers-search", full_page=False)
        page.get_by_label("Search carriers").fill("")

        page.get_by_role("button", name="Edit Acme Primary SIP").click()
        page.get_by_role("form", name="Edit Acme Primary SIP").wait_for()
        shoot(page, out, "04-carrier-form")

        page.get_by_role("button", name="Cancel").click()
        page.get_by_role("button", name="New carrier").click()
        form = page.get_by_role("form", name="New carrier")
        form.get_by_label("Name (required)").fill("Broken Trunk")
        form.get_by_label("Weight cost").fill("250")
        form.get_by_role("button", name="Create carrier").click()
        form.locator(".field-error:not(:empty)").first.wait_for()
        form.locator('[data-field="weight_cost"]').scroll_into_view_if_needed()
        shoot(page, out, "05-validation-errors", full_page=False)

        page.get_by_role("link", name="Global carriers").click()
        page.locator("#carriers-table").wait_for()
        shoot(page, out, "06-global-carriers")

        page.get_by_role("link", name="Bulk numbers").click()
        page.get_by_label("Carrier", exact=True).select_option(label="Acme Primary SIP")
        page.get_by_label("Job name").fill("Spring import")
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            rows = [f"({415}) 555-{i:04d},PO-{7000 + i},4155559999" for i in range(240)]
            rows[17:17] = ["n/a,PO-x,4155559999", ",PO-y,4155559999", "TBD,PO-z,4155559999"]
            f.write("Phone Number,order_id,lrn\n" + "\n".join(rows) + "\n")
        page.get_by_label("Or choose a CSV or text file").set_input_files(f.name)
        page.locator("#skipped-rows").wait_for()
        shoot(page, out, "12-bulk-preview-skipped-rows")
        page.get_by_role("button", name="Start import").click()
        page.locator("#bulk-summary").wait_for(timeout=120_000)
        os.unlink(f.name)
        shoot(page, out, "07-bulk-import")

        page.get_by_role("link", name="Jobs", exact=True).click()
        page.locator("#jobs-table").wait_for()
        shoot(page, out, "08-jobs")

        page.locator("#jobs-table").get_by_role("link", name=stale_job_id).click()
        page.get_by_role("heading", name=f"Job {stale_job_id}").wait_for()
        shoot(page, out, "09-job-waiting-for-recovery")

        page.get_by_role("link", name="Jobs", exact=True).click()
        page.locator("#jobs-table tbody tr", has_text="Spring import (1/").get_by_role("link").click()
        page.locator("table.failures").wait_for()
        shoot(page, out, "10-job-details")

        page.set_viewport_size({"width": 390, "height": 800})
        page.get_by_role("link", name="Carriers", exact=True).click()
        page.locator("#carriers-table").wait_for()
        shoot(page, out, "11-carriers-narrow")
        browser.close()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console").resolve()
    out.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("KAZOO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    couch_port, api_port = free_port(), free_port()
    couch_url, base = f"http://127.0.0.1:{couch_port}", f"http://127.0.0.1:{api_port}"
    env = {
        **os.environ,
        "KAZOO_COUCHDB_URL": couch_url,
        "KAZOO_NODE_NAME": NODE,
        "KAZOO_LOG_FORMAT": "json",
        "PYTHONPATH": str(REPO),
    }
    env.pop("KAZOO_AMQP_URL", None)
    procs: list[subprocess.Popen] = []
    log_path = Path(tempfile.gettempdir()) / f"kazoo-screenshots-{os.getpid()}.log"
    log = open(log_path, "wb")
    print(f"service and CouchDB log: {log_path}")
    try:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "kazoo_crossbar", "couchdb", "--port", str(couch_port), "--in-memory"],
                env=env,
                stdout=log,
                stderr=log,
            )
        )
        wait_http(couch_url + "/_up", procs[0])
        setup = subprocess.run(
            [sys.executable, "-m", "kazoo_crossbar", "setup", "--wait", "30"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        created = json.loads(setup.stdout.splitlines()[-1])
        accounts = asyncio.run(make_accounts(couch_url, created["master_account_id"]))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "kazoo_crossbar", "serve", "--host", "127.0.0.1", "--port", str(api_port)],
                env=env,
                stdout=log,
                stderr=log,
            )
        )
        wait_http(base + "/health", procs[1])

        master = call(base, "PUT", "/v2/api_auth", {"api_key": created["api_key"]})["auth_token"]
        acme = accounts["acme"]["_id"]
        gateways = [
            {"server": "sip1.acme.example", "port": 5060, "username": "acme", "password": "s3cret"},
            {"server": "sip2.acme.example", "port": 5080},
        ]
        primary = call(
            base,
            "PUT",
            f"/v2/accounts/{acme}/resources",
            {"name": "Acme Primary SIP", "weight_cost": 10, "rules": ["^\\+1(\\d{10})$"], "gateways": gateways},
            master,
        )["data"]["id"]
        call(
            base,
            "PUT",
            f"/v2/accounts/{acme}/resources",
            {
                "name": "Acme Backup",
                "enabled": False,
                "weight_cost": 80,
                "rules": ["^\\+44\\d+$", "^\\+33\\d+$"],
                "gateways": [{"server": "backup.acme.example"}],
            },
            master,
        )
        call(
            base,
            "PUT",
            f"/v2/accounts/{acme}/resources",
            {"name": "<img src=x onerror=alert(1)>", "gateways": []},
            master,
        )
        # an operator's real list: dozens of trunks (the table pages, searches and sorts them)
        trunks = [
            {"name": f"Trunk {i}", "weight_cost": 10 + i % 50, "gateways": [{"server": f"trunk{i}.acme.example"}]}
            for i in range(1, 58)
        ]
        call(base, "PUT", f"/v2/accounts/{acme}/resources/collection", trunks, master)
        call(
            base,
            "PUT",
            "/v2/resources",
            {
                "name": "Global Wholesale",
                "weight_cost": 50,
                "rules": ["^\\+\\d+$"],
                "gateways": [{"server": "wholesale.example"}],
            },
            master,
        )
        # numbers another account already holds: they show up as failures of the import
        beta = accounts["beta"]["_id"]
        beta_res = call(base, "PUT", f"/v2/accounts/{beta}/resources", {"name": "Beta SIP", "gateways": []}, master)[
            "data"
        ]["id"]
        call(
            base,
            "PUT",
            f"/v2/accounts/{beta}/resources/jobs",
            {"resource_id": beta_res, "numbers": [f"+1415555{i:04d}" for i in (3, 17, 42)]},
            master,
        )
        stale = asyncio.run(stalled_job(couch_url, accounts["acme"], primary))
        time.sleep(1.0)
        screens(base, created["api_key"], accounts, out, chromium, stale)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log.close()


if __name__ == "__main__":
    main()
