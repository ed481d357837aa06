"""Steps on the console's pages that several browser test modules take."""

from __future__ import annotations

from playwright.async_api import expect


async def login_with_key(page, api_key: str) -> None:
    await page.goto("/ui/")
    await page.get_by_label("API key", exact=True).fill(api_key)
    await page.get_by_role("button", name="Log in with API key").click()
    await expect(page.locator("#current-account")).to_be_visible()
