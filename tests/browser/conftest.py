"""One headless Debian chromium for the browser tests (Playwright drives it; its own browser
builds are never downloaded), and a fresh page per test against the shared test server."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest

CHROMIUM = os.environ.get("KAZOO_CHROMIUM", "/usr/bin/chromium")


def chromium_path() -> str | None:
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator:
    from playwright.async_api import async_playwright

    path = chromium_path()
    if path is None:
        pytest.fail("chromium is not installed: run scripts/ensure-chromium.sh (make test does)")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(browser, client) -> AsyncIterator:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, accept_downloads=True, base_url=str(client.make_url("/"))
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.problems = problems  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        await context.close()
