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
