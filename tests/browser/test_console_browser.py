"""The console in a real browser (SPEC 10): Debian's headless Chromium driven by Playwright
(never a downloaded browser), against the gateway app on loopback with data. Signs in, opens
every page, filters, cancels a held message with its button, checks the phone layout, signs
out, and saves screenshots under WXGATE_TEST_OUTPUT (default .wxgate-test/screenshots)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from tests.api import apihelp
from tests.api.conftest import API_TOKEN, ClientFactory
from tests.console import data

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("WXGATE_TEST_OUTPUT", ROOT / ".wxgate-test" / "screenshots"))
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    # Shown in the -ra summary of every run (pyproject's addopts), `make test` included.
    pytest.skip(
        "browser tests SKIPPED: Debian's chromium is not at /usr/bin/chromium "
        "(apt-get install -y chromium)",
        allow_module_level=True,
    )

from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    OUTPUT.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the browser
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def stack(
    settings: settings_mod.Settings,
    aiohttp_server: Any,
    aiohttp_client: ClientFactory,
    pool: asyncpg.Pool,
) -> AsyncIterator[tuple[str, dict[str, int]]]:
    server: TestServer = await aiohttp_server(app_mod.create_app(settings), host="127.0.0.1")
    client = await aiohttp_client(server)
    ids = await data.seed(client, pool, "acme")
    await data.seed(client, pool, "beta")
    yield str(server.make_url("")).rstrip("/"), ids


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(OUTPUT / f"console-{name}.png"), full_page=True)


async def no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 1, f"the page scrolls sideways by {width}px"


@pytest.mark.slow
async def test_the_console_in_a_browser(
    browser: Browser, stack: tuple[str, dict[str, int]]
) -> None:
    base, ids = stack
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    await page.goto(base + "/console/")
    await expect(page).to_have_url(base + "/console/sign-in")
    await shot(page, "sign-in")
    await page.fill("#token", "not-a-token")
    await page.click("#sign-in")
    await expect(page.get_by_role("alert")).to_contain_text("not accepted")
    await page.fill("#token", API_TOKEN)
    await page.click("#sign-in")
    await expect(page).to_have_url(base + "/console/")
    await expect(page.locator("section.account")).to_have_count(2)
    await expect(page.get_by_text("held: window_closed").first).to_be_visible()
    await shot(page, "overview")

    await page.click("a[href='/console/accounts/acme']")
    await expect(page.locator("figure.chart svg")).to_have_count(2)
    await expect(page.locator("figure.chart").first).to_contain_text("3 in the last hour")
    await shot(page, "account")

    await page.fill("#openid", apihelp.openid(1))
    await page.click("form.lookup button")
    await expect(page.locator("#follower")).to_contain_text("open")
    await expect(page.locator("#follower")).to_contain_text("0 of 4 used")
    await shot(page, "follower")

    await page.click("nav.account-nav >> text=Messages")
    await page.select_option("#status", "held")
    await page.fill("#reason", "window_closed")
    await page.click("form.filters button")
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(1)
    await shot(page, "messages")
    await page.click(f"a[href='/console/accounts/acme/messages/{ids['held']}']")
    await expect(page.locator("#status")).to_have_text("held")
    await page.click("#cancel")
    await expect(page.locator("#status")).to_have_text("canceled")
    await expect(page.locator("#cancel")).to_have_count(0)
    await shot(page, "message")

    await page.click("nav.account-nav >> text=Event log")
    await expect(page.locator("details.event")).to_have_count(3)
    await page.fill("#type", "event.scan")
    await page.click("form.filters button")
    await expect(page.locator("details.event")).to_have_count(1)
    await page.fill("#type", "message.text")
    await page.click("form.filters button")
    event = page.locator("details.event")
    await expect(event).to_have_count(1)
    await event.locator("summary").click()
    await expect(event.locator("pre.xml")).to_contain_text("<script>alert('x')</script>")
    await shot(page, "events")
    unavailable = page.locator("nav.account-nav .unavailable")
    await expect(unavailable).to_have_count(3)

    phone = await browser.new_context(viewport=PHONE, is_mobile=True)
    await phone.add_cookies(await context.cookies())
    small = await phone.new_page()
    for path in ("/console/", "/console/accounts/acme", "/console/accounts/acme/messages"):
        await small.goto(base + path)
        await no_horizontal_scroll(small)
    await small.goto(base + "/console/")
    await shot(small, "overview-phone")
    await small.goto(base + "/console/accounts/acme")
    await shot(small, "account-phone")
    await phone.close()

    await page.click("#sign-out")
    await expect(page).to_have_url(base + "/console/sign-in")
    await page.goto(base + "/console/accounts/acme")
    await expect(page).to_have_url(base + "/console/sign-in")
    await context.close()
    assert dialogs == [], "a hostile value ran as script"
    assert all(url.startswith(base) for url in requests), "a page loaded something off-site"
