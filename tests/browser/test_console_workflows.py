"""The console in a real headless Chromium (Debian's, driven by Playwright) against the test
service: logins, carriers, bulk numbers and jobs, as an operator uses them."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re

import pytest
from playwright.async_api import expect

from kazoo_crossbar.storage import names

from ..kazoo import fixture, numbers_block, stale_job
from .pages import login_with_key


@pytest.fixture(scope="module")
async def tenant(kazoo, master):
    """An account under the master with a child (which has a user), a grandchild and a sibling."""
    top = await kazoo.account(name="Console Top", parent={"_id": master["master_account_id"], "pvt_tree": []})
    child = await kazoo.account(parent=top, name="Console Child")
    grandchild = await kazoo.account(parent=child, name="Console Grandchild")
    sibling = await kazoo.account(parent=top, name="Console Sibling")
    await kazoo.user(child, "Operator", "op-secret-1")
    return {"top": top, "child": child, "grandchild": grandchild, "sibling": sibling}


async def test_api_key_login_logout_and_token_in_session_storage(page, tenant):
    await page.goto("/ui/")
    await expect(page.get_by_label("API key", exact=True)).to_be_focused()
    # logged out: no screen links and no "Log out" button
    await expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    await expect(page.get_by_role("link", name="Jobs")).to_be_hidden()
    await page.keyboard.type(tenant["top"]["pvt_api_key"])  # keyboard only
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Carriers of Console Top")).to_be_visible()
    assert "auth_token" not in page.url and tenant["top"]["pvt_api_key"] not in page.url
    stored = await page.evaluate("sessionStorage.getItem('kazoo_console.session')")
    assert '"token":' in stored and await page.evaluate("localStorage.length") == 0
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_text("You are logged out.")).to_be_visible()
    await expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    assert await page.evaluate("sessionStorage.length") == 0
    assert page.problems == []


async def test_user_login_with_username_password_and_account_name(page, tenant):
    await page.goto("/ui/")
    await page.get_by_label("Username").fill("operator")
    await page.get_by_label("Password", exact=True).fill("op-secret-1")
    await page.get_by_label("Account name").fill("Console Child")
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("heading", name="Carriers of Console Child")).to_be_visible()
    # the inputs carry the names the issue asks for
    await page.get_by_role("button", name="Log out").click()
    for name in ("api_key", "username", "password", "account_name"):
        assert await page.locator(f"input[name={name}]").count() == 1


async def test_wrong_password_shows_the_error_with_its_request_id(page, tenant):
    await page.goto("/ui/")
    await page.get_by_label("Username").fill("operator")
    await page.get_by_label("Password", exact=True).fill("wrong")
    await page.get_by_label("Account name").fill("Console Child")
    await page.get_by_role("button", name="Log in", exact=True).click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("401")
    await expect(alert.locator(".request-id")).to_have_text(re.compile(r"request_id: [0-9a-f]{32}"))


async def test_a_failed_api_key_login_never_shows_the_key(page, client):
    """The API answers an unknown key with 404 bad identifier and the key in its data (as Kazoo
    does); the console says what it means and shows the key nowhere."""
    key = "0" * 64
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": key}})
    assert resp.status == 404 and key in await resp.text()  # the server does echo it
    await page.goto("/ui/")
    await page.get_by_label("API key", exact=True).fill(key)
    await page.get_by_role("button", name="Log in with API key").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Login failed: no account has this API key.")
    await expect(alert).to_contain_text("404")
    assert key not in await page.evaluate("document.body.innerText")
    assert not [p for p in page.problems if key in p]


async def test_expired_token_brings_back_the_login_with_a_message(page, tenant):
    await login_with_key(page, tenant["top"]["pvt_api_key"])
    await page.evaluate("""() => { const s = JSON.parse(sessionStorage.getItem('kazoo_console.session'));
        s.token = 'expired.' + s.token.split('.').slice(1).join('.') + 'x';
        sessionStorage.setItem('kazoo_console.session', JSON.stringify(s)); }""")
    await page.get_by_role("link", name="Jobs").click()
    await expect(page.get_by_text("Your session has expired")).to_be_visible()
    await expect(page.get_by_label("API key", exact=True)).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0


async def new_carrier_form(page):
    await page.get_by_role("button", name="New carrier").click()
    return page.get_by_role("form", name="New carrier")


async def test_create_a_carrier_with_two_gateways_and_see_it_in_the_table(page, tenant, client, kazoo):
    await login_with_key(page, tenant["top"]["pvt_api_key"])
    form = await new_carrier_form(page)
    await form.get_by_label("Name (required)").fill("Two Gateways Inc")
    await form.get_by_label("Weight cost").fill("20")
    await form.get_by_label("Rules", exact=True).fill("^\\+1(\\d{10})$\n^\\+44")
    await form.get_by_role("button", name="Add gateway").click()
    gateways = form.locator("fieldset.group-item")
    await expect(gateways).to_have_count(2)
    await gateways.nth(0).get_by_label("Server (required)").fill("sip1.carrier.example")
    await gateways.nth(1).get_by_label("Server (required)").fill("sip2.carrier.example")
    await gateways.nth(1).get_by_label("Port", exact=True).fill("5080")
    await form.get_by_role("button", name="Create carrier").click()
    row = page.locator("#carriers-table tbody tr", has_text="Two Gateways Inc")
    await expect(row).to_be_visible()
    await expect(row.locator("td.gateways")).to_have_text("2")
    await expect(row.locator("td.rules li")).to_have_count(2)
    await expect(row.get_by_role("button", name="Disable Two Gateways Inc")).to_have_text("Enabled")
    # what the API stored is what the form said
    headers = {"X-Auth-Token": await kazoo.token_for(tenant["top"])}
    doc = (
        await (
            await client.get(
                f"/v2/accounts/{tenant['top']['_id']}/resources/{await row.get_attribute('data-id')}", headers=headers
            )
        ).json()
    )["data"]
    assert [g["server"] for g in doc["gateways"]] == ["sip1.carrier.example", "sip2.carrier.example"]
    assert doc["gateways"][1]["port"] == 5080 and doc["weight_cost"] == 20
    assert doc["rules"] == ["^\\+1(\\d{10})$", "^\\+44"]
    assert page.problems == []


async def test_validation_errors_are_shown_next_to_their_fields(page, tenant):
    await login_with_key(page, tenant["top"]["pvt_api_key"])
    form = await new_carrier_form(page)
    await form.get_by_label("Name (required)").fill("Bad Weight")
    await form.get_by_label("Weight cost").fill("500")
    await form.get_by_role("button", name="Add gateway").click()
    await form.locator("fieldset.group-item").nth(0).get_by_label("Server (required)").fill("sip.example")
    await form.get_by_text("More settings", exact=True).click()
    await form.get_by_label("Classifiers").fill('{"tollfree": {"weight_cost": 500}}')
    await form.get_by_role("button", name="Create carrier").click()  # gateway 2 has no server
    # an error inside a JSON field is shown on that field, with the key inside it
    await expect(form.locator('[data-field="classifiers"] .field-error')).to_have_text(
        "tollfree.weight_cost: maximum: Value must be at most 100"
    )
    weight = form.locator('[data-field="weight_cost"]')
    await expect(weight.locator(".field-error")).to_contain_text("maximum")
    await expect(weight.locator("input")).to_have_attribute("aria-invalid", "true")
    server = form.locator('[data-field="gateways.1.server"]')
    await expect(server.locator(".field-error")).to_contain_text("required")
    await expect(form.get_by_role("alert")).to_contain_text("request_id: ")
    # fixed, it saves
    await form.get_by_label("Weight cost").fill("5")
    await form.get_by_label("Classifiers").fill("")
    await form.get_by_role("button", name="Remove gateway 2").click()
    await form.get_by_role("button", name="Create carrier").click()
    await expect(page.locator("#carriers-table tbody tr", has_text="Bad Weight")).to_be_visible()


async def test_toggle_enabled_in_place_edit_and_delete(page, tenant, client, kazoo):
    headers = {"X-Auth-Token": await kazoo.token_for(tenant["top"])}
    base = f"/v2/accounts/{tenant['top']['_id']}/resources"
    resp = await client.put(
        base, json={"data": {"name": "Toggle Me", "gateways": [{"server": "t.example"}]}}, headers=headers
    )
    rid = (await resp.json())["data"]["id"]
    await login_with_key(page, tenant["top"]["pvt_api_key"])
    row = page.locator(f'#carriers-table tr[data-id="{rid}"]')
    # disabling a live carrier asks first: dismissed, nothing changes
    asked: list[str] = []

    def answer(accept: bool):
        async def handler(dialog) -> None:
            asked.append(dialog.message)
            await (dialog.accept() if accept else dialog.dismiss())

        return handler

    page.once("dialog", answer(False))
    await row.get_by_role("button", name="Disable Toggle Me").click()
    await expect(row.get_by_role("button", name="Disable Toggle Me")).to_have_text("Enabled")
    assert asked and (await (await client.get(f"{base}/{rid}", headers=headers)).json())["data"]["enabled"] is True
    page.once("dialog", answer(True))
    await row.get_by_role("button", name="Disable Toggle Me").click()
    await expect(row.get_by_role("button", name="Enable Toggle Me")).to_have_text("Disabled")
    assert asked == ['Disable the carrier "Toggle Me"? Calls stop using it until it is enabled again.'] * 2
    assert (await (await client.get(f"{base}/{rid}", headers=headers)).json())["data"]["enabled"] is False
    await row.get_by_role("button", name="Enable Toggle Me").click()  # enabling asks nothing
    await expect(row.get_by_role("button", name="Disable Toggle Me")).to_be_visible()
    assert (await (await client.get(f"{base}/{rid}", headers=headers)).json())["data"]["enabled"] is True
    assert len(asked) == 2

    await row.get_by_role("button", name="Edit Toggle Me").click()
    form = page.get_by_role("form", name="Edit Toggle Me")
    # the form opens right under its row
    await expect(page.locator(f'#carriers-table tr[data-id="{rid}"] + tr.edit-row')).to_contain_text("Edit Toggle Me")
    await expect(form.get_by_label("Server (required)")).to_have_value("t.example")
    await form.get_by_label("Name (required)").fill("Toggled")
    await form.get_by_role("button", name="Save changes").click()
    await expect(row.locator("th.name")).to_have_text("Toggled")

    page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Delete Toggled").click()
    await expect(page.get_by_text("Deleted Toggled.")).to_be_visible()
    await expect(row).to_have_count(0)
    assert (await client.get(f"{base}/{rid}", headers=headers)).status == 404


async def test_api_values_are_rendered_as_text(page, tenant, client, kazoo):
    xss = "<img src=x onerror=alert(1)>"
    headers = {"X-Auth-Token": await kazoo.token_for(tenant["sibling"])}
    resp = await client.put(
        f"/v2/accounts/{tenant['sibling']['_id']}/resources",
        json={"data": {"name": xss, "rules": ["<b>bold</b>"], "gateways": []}},
        headers=headers,
    )
    assert resp.status == 201
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    await login_with_key(page, tenant["sibling"]["pvt_api_key"])
    row = page.locator("#carriers-table tbody tr", has_text=xss)
    await expect(row.locator("th.name")).to_have_text(xss)
    await expect(row.locator("td.rules code")).to_have_text("<b>bold</b>")
    assert await page.locator("#carriers-table img, #carriers-table b").count() == 0
    assert dialogs == []


async def test_sub_account_login_sees_only_its_subtree(page, tenant):
    await login_with_key(page, tenant["child"]["pvt_api_key"])
    await page.get_by_role("link", name="Accounts").click()
    tree = page.locator("#account-tree")
    await expect(tree.get_by_role("button", name="Console Grandchild")).to_be_visible()
    await expect(tree.locator("li")).to_have_count(2)  # the child and its grandchild
    await expect(tree).not_to_contain_text("Console Top")
    await expect(tree).not_to_contain_text("Console Sibling")
    await expect(page.get_by_role("link", name="Global carriers")).to_be_hidden()
    # picking the grandchild makes it the account the screens work on
    await tree.get_by_role("button", name="Console Grandchild").click()
    await expect(page.get_by_role("heading", name="Carriers of Console Grandchild")).to_be_visible()
    await expect(page.locator("#current-account")).to_have_text("Console Grandchild")


async def test_import_500_numbers_from_a_file_in_jobs_of_job_max_numbers(page, tenant, client, kazoo, couch, tmp_path):
    top = tenant["top"]
    headers = {"X-Auth-Token": await kazoo.token_for(top)}
    resp = await client.put(
        f"/v2/accounts/{top['_id']}/resources", json={"data": {"name": "Bulk Carrier", "gateways": []}}, headers=headers
    )
    assert resp.status == 201
    numbers = numbers_block(500)
    taken = numbers[7]  # already in service: the job reports it
    db = names.numbers_db(taken)
    await couch.create_db(db)
    await couch.save_doc(
        db,
        {
            **fixture("numbers-db.number-doc.json"),
            "_id": taken,
            "pvt_state": "in_service",
            "pvt_assigned_to": top["_id"],
        },
    )
    upload = tmp_path / "numbers.csv"
    upload.write_text("number,note\n" + "".join(f"{n},row {i}\n" for i, n in enumerate(numbers)))

    async with kazoo.system_config("crossbar.resources", job_max_numbers=200):
        await login_with_key(page, kazoo.master["api_key"])  # a super-duper admin reads job_max_numbers
        await expect(page.get_by_role("link", name="Global carriers")).to_be_visible()
        await page.get_by_role("link", name="Accounts").click()
        await page.locator("#account-tree").get_by_role("button", name="Console Top", exact=True).click()
        await page.get_by_role("link", name="Bulk numbers").click()
        await page.get_by_label("Carrier", exact=True).select_option(label="Bulk Carrier")
        await page.get_by_label("Job name").fill("Spring import")
        await page.get_by_label("Or choose a CSV or text file").set_input_files(str(upload))
        await expect(page.locator("#bulk-preview")).to_contain_text(
            "500 number(s) found; they will be sent as 3 job(s) of at most 200"
        )
        await page.get_by_role("button", name="Start import").click()
        summary = page.locator("#bulk-summary")
        await expect(summary).to_have_text("Import complete: 499 number(s) imported, 1 failed.", timeout=90_000)
    await expect(page.locator("#bulk-totals")).to_have_text("3 of 3 job(s) complete: 499 imported, 1 failed.")
    await expect(page.locator(".jobs-progress progress")).to_have_count(3)
    await expect(page.locator("table.failures tbody tr")).to_have_text(
        [re.compile(re.escape(taken) + ".*number_exists")]
    )

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download failures as CSV").click()
    download = await download_info.value
    await download.save_as(tmp_path / "failures.csv")
    assert download.suggested_filename == "failures.csv"
    rows = list(csv.DictReader(io.StringIO((tmp_path / "failures.csv").read_text())))
    # docs/number-files.md: number,reason,message,cause,line,job_id; the holder is this account
    assert [(r["number"], r["reason"], r["line"]) for r in rows] == [(taken, "number_exists", "9")]
    assert rows[0]["message"] == f"number {taken} already exists (held by account {top['_id']})"
    assert rows[0]["cause"] == taken and rows[0]["job_id"]

    # the jobs screen lists them with their counts; a job's page has its details
    await page.get_by_role("link", name="Jobs").click()
    table = page.locator("#jobs-table")
    await expect(table.locator("tbody tr")).to_have_count(3)
    await expect(table.locator("tbody tr", has_text="Spring import (1/3)").locator("td.num")).to_have_text(["199", "1"])
    await expect(table.locator("tbody tr", has_text="Spring import (1/3)").locator("td.carrier")).to_have_text(
        "Bulk Carrier"
    )
    await table.get_by_role("link", name=rows[0]["job_id"]).click()
    await expect(page.get_by_role("heading", name=f"Job {rows[0]['job_id']}")).to_be_visible()
    await expect(page.locator("dl.facts")).to_contain_text("complete")
    await expect(page.locator("dl.facts")).to_contain_text("Bulk Carrier (")
    assert page.problems == []


async def test_jobs_filter_and_waiting_for_recovery(page, tenant, client, kazoo, couch):
    sibling = tenant["sibling"]
    headers = {"X-Auth-Token": await kazoo.token_for(sibling)}
    resp = await client.put(
        f"/v2/accounts/{sibling['_id']}/resources",
        json={"data": {"name": "Stale Carrier", "gateways": []}},
        headers=headers,
    )
    rid = (await resp.json())["data"]["id"]
    db, job_id = await stale_job(couch, sibling, rid, numbers_block(2), status="running", age_s=7200, name="Stalled")
    try:
        await login_with_key(page, sibling["pvt_api_key"])
        await page.get_by_role("link", name="Jobs").click()
        row = page.locator(f'#jobs-table tr[data-id="{job_id}"]')
        await expect(row).to_contain_text("waiting for recovery")
        # not a super-duper admin: the defaults that govern recovery are shown, and said to be defaults
        await expect(page.locator("#recovery-settings")).to_contain_text("job_recover_threshold_s = 3600")
        await expect(page.locator("#recovery-settings")).to_contain_text("job_recover_timeout_s = 21600")
        # a range that ends before the job: not listed
        await page.get_by_label("Created from").fill("2020-01-01")
        await page.get_by_label("Created to").fill("2020-01-20")
        await page.get_by_role("button", name="Show jobs").click()
        await expect(page.locator("#jobs-results")).to_have_text("No jobs in this range.")
        # a range longer than crossbar.maximum_range: the API's 400, with its request id
        await page.get_by_label("Created to").fill("2020-12-31")
        await page.get_by_role("button", name="Show jobs").click()
        await expect(page.locator("#jobs-results .error")).to_contain_text("request_id: ")
        await page.goto(f"/ui/#/jobs/{job_id}")
        await expect(page.get_by_text("Waiting for recovery", exact=True)).to_be_visible()
    finally:  # never leave a stale job for the recovery tests of this session
        doc = await couch.get_doc(db, job_id)
        await couch.save_doc(db, {**doc, "pvt_status": "complete"})


async def test_global_carriers_for_a_super_duper_admin_only(page, tenant, kazoo):
    await login_with_key(page, kazoo.master["api_key"])
    await page.get_by_role("link", name="Global carriers").click()
    await expect(page.get_by_role("heading", name="Global carriers")).to_be_visible()
    await page.get_by_role("button", name="New carrier").click()
    form = page.get_by_role("form", name="New carrier")
    await form.get_by_label("Name (required)").fill("Console Global Wholesale")
    await form.get_by_label("Server (required)").fill("wholesale.example")
    await form.get_by_role("button", name="Create carrier").click()
    row = page.locator("#carriers-table tbody tr", has_text="Console Global Wholesale")
    await expect(row.locator("td.gateways")).to_have_text("1")
    page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Delete Console Global Wholesale").click()
    await expect(row).to_have_count(0)
    await page.get_by_role("button", name="Log out").click()
    # anyone else: no link, and the API's 403 (with its request id) when going there anyway
    await login_with_key(page, tenant["child"]["pvt_api_key"])
    await expect(page.get_by_role("link", name="Global carriers")).to_be_hidden()
    await page.goto("/ui/#/global")
    await expect(page.get_by_role("alert")).to_contain_text("403")
    await expect(page.get_by_role("alert")).to_contain_text("request_id: ")


async def test_every_screen_has_labelled_controls_and_fits_a_narrow_window(page, tenant, kazoo):
    await page.set_viewport_size({"width": 390, "height": 800})
    await login_with_key(page, kazoo.master["api_key"])
    unlabelled = """() => [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.name || el.outerHTML)"""
    overflow = "() => document.documentElement.scrollWidth - window.innerWidth"
    for screen, ready in (
        ("accounts", "#account-tree"),
        ("carriers", "#carriers-title"),
        ("global", "#carriers-title"),
        ("bulk", "#bulk-preview"),
        ("jobs", "#jobs-results"),
    ):
        await page.goto(f"/ui/#/{screen}")
        await page.locator(ready).wait_for()
        if screen == "carriers":
            await page.get_by_role("button", name="New carrier").click()
            await page.get_by_text("More settings", exact=True).click()
        assert await page.evaluate(unlabelled) == [], screen
        assert await page.evaluate(overflow) <= 0, screen
    await page.goto("/ui/")
    await page.get_by_role("button", name="Log out").click()
    assert await page.evaluate(unlabelled) == []
    assert page.problems == []


async def test_the_pure_helpers(page):
    """sha1 (user_auth's `sha` credentials), natural sort, durations and ETA, chunks, the account
    tree (the number reader and the failures CSV have their own vectors: test_number_files.py)."""
    await page.goto("/ui/")
    out = await page.evaluate(r"""async () => {
        const { sha1Hex } = await import('./sha1.js');
        const { chunks, reasonOf, messageOf } = await import('./numbers.js');
        const { buildTree } = await import('./accounts.js');
        const { waitingForRecovery, statusMatches } = await import('./jobs.js');
        const { append, h, naturalCompare, humanSeconds, etaSeconds, matchesQuery } = await import('./dom.js');
        const box = append(h('div'), h('b', { text: '<i>x</i>' }));
        append(box, [['one', null, [h('br')]], false, 2]);
        const tree = buildTree({ id: 'a', name: 'A' }, [
          { id: 'c', name: 'C', tree: ['a', 'b'] }, { id: 'b', name: 'B', tree: ['a'] }, { id: 'd', name: 'D', tree: ['a'] }]);
        const s = { job_recover_threshold_s: 3600 };
        return {
          sha: [sha1Hex('operator:op-secret-1'), sha1Hex(''), sha1Hex('é'.repeat(100))],
          chunks: chunks([1, 2, 3, 4, 5], 2),
          natural: ['Carrier 10', 'carrier 2', 'Carrier 1', 'Carrier 2b', 'a'].sort(naturalCompare),
          human: [humanSeconds(3600), humanSeconds(21600), humanSeconds(90), humanSeconds(0), humanSeconds(90061)],
          eta: [etaSeconds(0, 100, 5000), etaSeconds(25, 100, 5000), etaSeconds(100, 100, 9000)],
          match: [matchesQuery('acme', 'Big ACME Inc'), matchesQuery('', 'x'), matchesQuery('zz', 'a', null)],
          reasons: [reasonOf('not_reconcilable'), messageOf('not_reconcilable'), reasonOf({ error: 'number_exists' }),
                    messageOf({ error: 'number_exists', message: 'm', assigned_to: 'abc' }, 'Acme')],
          tree: JSON.stringify(tree, (k, v) => (k === 'tree' ? undefined : v)),
          appended: [box.childNodes.length, box.textContent, box.querySelectorAll('i').length],
          waiting: [waitingForRecovery({ status: 'running', timestamp: 1000 }, s, 5000),
                    waitingForRecovery({ status: 'running', timestamp: 1000 }, s, 4600),
                    waitingForRecovery({ status: 'complete', timestamp: 1 }, s, 99999)],
          status: [statusMatches({ status: 'running', timestamp: 1000 }, 'waiting', s, 5000),
                   statusMatches({ status: 'running' }, 'complete', s, 5000),
                   statusMatches({ status: 'pending' }, 'not_complete', s, 5000),
                   statusMatches({ status: 'complete' }, '', s, 5000)],
        };
    }""")
    assert out["sha"] == [
        hashlib.sha1(b"operator:op-secret-1").hexdigest(),
        hashlib.sha1(b"").hexdigest(),
        hashlib.sha1(("é" * 100).encode()).hexdigest(),
    ]
    assert out["chunks"] == [[1, 2], [3, 4], [5]]
    assert out["natural"] == ["a", "Carrier 1", "carrier 2", "Carrier 2b", "Carrier 10"]
    assert out["human"] == ["1 h", "6 h", "1 min 30 s", "0 s", "1 d 1 h"]
    assert out["eta"] == [None, 15, 0]
    assert out["match"] == [True, True, False]
    assert out["reasons"] == [
        "not_reconcilable",
        "Kazoo's number manager does not accept it as a number (reconcile_regex)",
        "number_exists",
        "m (held by Acme, account abc)",
    ]
    tree = json.loads(out["tree"])
    assert [c["name"] for c in tree["children"]] == ["B", "D"] and tree["children"][0]["children"][0]["id"] == "c"
    assert out["waiting"] == [True, False, False]
    assert out["status"] == [True, False, True, True]
    assert out["appended"] == [4, "<i>x</i>one2", 0]


async def test_dropped_file_and_a_limit_learned_from_the_service(page, tenant, client, kazoo):
    """Not a super-duper admin: the console cannot read job_max_numbers, sends one job of 150,
    gets the API's 400 maxItems, and splits by the limit it answered."""
    sibling = tenant["sibling"]
    headers = {"X-Auth-Token": await kazoo.token_for(sibling)}
    resp = await client.put(
        f"/v2/accounts/{sibling['_id']}/resources",
        json={"data": {"name": "Drop Carrier", "gateways": []}},
        headers=headers,
    )
    assert resp.status == 201
    numbers = numbers_block(150)
    async with kazoo.system_config("crossbar.resources", job_max_numbers=100):
        await login_with_key(page, sibling["pvt_api_key"])
        await page.get_by_role("link", name="Bulk numbers").click()
        await page.get_by_label("Carrier", exact=True).select_option(label="Drop Carrier")
        await page.evaluate(
            """(text) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], 'numbers.txt', { type: 'text/plain' }));
            document.getElementById('drop-zone').dispatchEvent(
                new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
            "\n".join(numbers),
        )
        await expect(page.locator("#bulk-preview")).to_contain_text(
            "150 number(s) found; they will be sent as 1 job(s)"
        )
        await page.get_by_role("button", name="Start import").click()
        await expect(page.locator("#bulk-summary")).to_have_text(
            "Import complete: 150 number(s) imported, 0 failed.", timeout=60_000
        )
    await expect(page.locator("#bulk-split-note")).to_contain_text("at most 100 numbers per job")
    await expect(page.locator(".jobs-progress .count")).to_have_text(["100 / 100", "50 / 50"])
    await expect(page.get_by_role("button", name="Download failures as CSV")).to_have_count(0)
    await page.get_by_text("Imported numbers (150)").click()
    await expect(page.locator("table.successes tbody tr").first).to_contain_text("reserved")
