"""The console in a real headless Chromium (Debian's, driven by Playwright) against the test
service: logins, carriers, bulk numbers and jobs, as an operator uses them."""
from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.async_api import expect

from kazoo_crossbar.storage import names

from ..kazoo import fixture, numbers_block



@pytest.fixture(scope="module")
async def tenant(kazoo):
    """A reseller-ish account with one child and one grandchild, and a user in it."""
    top = await kazoo.account(name="Console Top")
    child = await kazoo.account(parent=top, name="Console Child")
    grandchild = await kazoo.account(parent=child, name="Console Grandchild")
    sibling = await kazoo.account(parent=top, name="Console Sibling")
    await kazoo.user(child, "Operator", "op-secret-1")
    return {"top": top, "child": child, "grandchild": grandchild, "sibling": sibling}


async def login_with_key(page, api_key: str) -> None:
    await page.goto("/ui/")
    await page.get_by_label("API key", exact=True).fill(api_key)
    await page.get_by_role("button", name="Log in with API key").click()
    await expect(page.locator("#current-account")).to_be_visible()


async def test_api_key_login_logout_and_token_in_session_storage(page, tenant):
    await login_with_key(page, tenant["top"]["pvt_api_key"])
    await expect(page.get_by_role("heading", name="Carriers of Console Top")).to_be_visible()
    assert "auth_token" not in page.url and tenant["top"]["pvt_api_key"] not in page.url
    stored = await page.evaluate("sessionStorage.getItem('kazoo_console.session')")
    assert '"token":' in stored and await page.evaluate("localStorage.length") == 0
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_text("You are logged out.")).to_be_visible()
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
    doc = (await (await client.get(f"/v2/accounts/{tenant['top']['_id']}/resources/{await row.get_attribute('data-id')}",
                                   headers=headers)).json())["data"]
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
    await form.get_by_role("button", name="Create carrier").click()  # gateway 2 has no server
    weight = form.locator('[data-field="weight_cost"]')
    await expect(weight.locator(".field-error")).to_contain_text("maximum")
    await expect(weight.locator("input")).to_have_attribute("aria-invalid", "true")
    server = form.locator('[data-field="gateways.1.server"]')
    await expect(server.locator(".field-error")).to_contain_text("required")
    await expect(form.get_by_role("alert")).to_contain_text("request_id: ")
    # fixed, it saves
    await form.get_by_label("Weight cost").fill("5")
    await form.get_by_role("button", name="Remove gateway 2").click()
    await form.get_by_role("button", name="Create carrier").click()
    await expect(page.locator("#carriers-table tbody tr", has_text="Bad Weight")).to_be_visible()


async def test_toggle_enabled_in_place_edit_and_delete(page, tenant, client, kazoo):
    headers = {"X-Auth-Token": await kazoo.token_for(tenant["top"])}
    base = f"/v2/accounts/{tenant['top']['_id']}/resources"
    resp = await client.put(base, json={"data": {"name": "Toggle Me", "gateways": [{"server": "t.example"}]}},
                            headers=headers)
    rid = (await resp.json())["data"]["id"]
    await login_with_key(page, tenant["top"]["pvt_api_key"])
    row = page.locator(f'#carriers-table tr[data-id="{rid}"]')
    await row.get_by_role("button", name="Disable Toggle Me").click()
    await expect(row.get_by_role("button", name="Enable Toggle Me")).to_have_text("Disabled")
    assert (await (await client.get(f"{base}/{rid}", headers=headers)).json())["data"]["enabled"] is False
    await row.get_by_role("button", name="Enable Toggle Me").click()
    await expect(row.get_by_role("button", name="Disable Toggle Me")).to_be_visible()
    assert (await (await client.get(f"{base}/{rid}", headers=headers)).json())["data"]["enabled"] is True

    await row.get_by_role("button", name="Edit Toggle Me").click()
    form = page.get_by_role("form", name="Edit Toggle Me")
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
    resp = await client.put(f"/v2/accounts/{tenant['sibling']['_id']}/resources",
                            json={"data": {"name": xss, "rules": ["<b>bold</b>"], "gateways": []}}, headers=headers)
    assert resp.status == 201
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    await login_with_key(page, tenant["sibling"]["pvt_api_key"])
    row = page.locator("#carriers-table tbody tr", has_text=xss)
    await expect(row.locator("th.name")).to_have_text(xss)
    await expect(row.locator("td.rules code")).to_have_text("<b>bold</b>")
    assert await page.locator("#carriers-table img, #carriers-table b").count() == 0
    assert dialogs == []
