"""The console in a real browser (SPEC 10): Debian's headless Chromium driven by Playwright
(never a downloaded browser), against the gateway app on loopback with data. Signs in, opens
every page, filters, cancels a held message with its button, retries a delivery to a failing
endpoint (a receiver on loopback answering 500) and replays a period with the form, starts a
follower sync, shows the menu, checks the phone layout, signs out, and saves screenshots under
WXGATE_TEST_OUTPUT (default .wxgate-test/screenshots)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.store import menus
from tests import knobs
from tests.api import apihelp
from tests.api.conftest import API_TOKEN, ClientFactory
from tests.console import data
from tests.webhooks import hooks

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
MENU = {
    "button": [
        {"type": "click", "name": "<b>Today</b>", "key": "<script>alert('menu')</script>"},
        {
            "name": "More",
            "sub_button": [{"type": "view", "name": "Shop", "url": "https://shop.example.com/"}],
        },
    ]
}
OUTPUT = Path(knobs.OUTPUT or ROOT / ".wxgate-test" / "screenshots")
# Annotated with playwright's type, imported below once chromium is known to exist.
LAPTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    # Shown in the -ra summary of every run (pyproject's addopts), `make test` included.
    pytest.skip(
        "browser tests SKIPPED: Debian's chromium is not at /usr/bin/chromium "
        "(apt-get install -y chromium)",
        allow_module_level=True,
    )

from playwright.async_api import (  # noqa: E402
    Browser,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    OUTPUT.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the browser
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclasses.dataclass
class Stack:
    base: str
    ids: dict[str, int]
    endpoint: str
    settings: settings_mod.Settings
    pool: asyncpg.Pool
    session: aiohttp.ClientSession

    async def deliver(self) -> int:
        """One drain of the worker's webhook dispatcher (what is due now)."""
        dispatcher = hooks.dispatcher(self.settings, self.pool, self.session, hooks.clock())
        return await dispatcher.drain()


async def _failing(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=500, text="<b>down</b> <script>alert('answer')</script>")


@pytest.fixture
async def stack(
    settings: settings_mod.Settings,
    aiohttp_server: Any,
    aiohttp_client: ClientFactory,
    pool: asyncpg.Pool,
) -> AsyncIterator[Stack]:
    # Loopback receivers allowed; after a failure the next try is an hour away, so only
    # what the Retry button makes due is attempted by the next drain.
    cfg = settings.model_copy(
        update={"webhook_allow_private": True, "webhook_retry_schedule": "3600,7200"}
    )
    server: TestServer = await aiohttp_server(app_mod.create_app(cfg), host="127.0.0.1")
    client = await aiohttp_client(server)
    ids = await data.seed(client, pool, "acme")
    await data.seed(client, pool, "beta")
    receiver = web.Application()
    receiver.router.add_post("/hook", _failing)
    hook = await aiohttp_server(receiver, host="127.0.0.1")
    resp = await client.post(
        "/api/v1/accounts/acme/endpoints",
        json={"url": str(hook.make_url("/hook"))},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert resp.status == 201, await resp.text()
    endpoint = (await resp.json())["id"]
    # Queue the three stored callbacks (the API's replay) and attempt them once: 500 each.
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    resp = await client.post(
        f"/api/v1/accounts/acme/endpoints/{endpoint}/replay",
        json={"since": since},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert resp.status == 202 and (await resp.json())["count"] == 3
    async with aiohttp.ClientSession() as session:
        built = Stack(
            str(server.make_url("")).rstrip("/"),
            ids,
            endpoint,
            cfg,
            pool,
            session,
        )
        assert await built.deliver() == 3
        yield built


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(OUTPUT / f"console-{name}.png"), full_page=True)


async def no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 1, f"the page scrolls sideways by {width}px"


@pytest.mark.slow
async def test_the_console_in_a_browser(browser: Browser, stack: Stack) -> None:
    base, ids = stack.base, stack.ids
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
    failing = page.locator("p.endpoints-failing")
    await expect(failing.first).to_contain_text("Endpoints failing: 1")
    await expect(failing.nth(1)).to_contain_text("Endpoints failing: 0")
    await shot(page, "overview")

    await page.click("a[href='/console/accounts/acme']")
    await expect(page.locator("figure.chart svg")).to_have_count(3)
    await expect(page.locator("figure.chart").first).to_contain_text("3 in the last hour")
    await expect(page.locator("figure.chart").nth(2)).to_contain_text(
        "Webhook deliveries per minute: 3 in the last hour"
    )
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
    # Its outbound.canceled event goes to the failing endpoint too (a 500).
    assert await stack.deliver() == 1

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
    await expect(event.locator("ul.webhooks")).to_contain_text(stack.endpoint)
    await expect(event.locator("ul.webhooks")).to_contain_text("pending")
    await shot(page, "events")
    await expect(page.locator("nav.account-nav .unavailable")).to_have_count(0)

    await page.click("nav.account-nav >> text=Reply rules")
    await expect(page.locator("#no-rules")).to_be_visible()
    await expect(page.locator("#reply-endpoint")).to_contain_text("None.")
    await shot(page, "replies")

    await page.click("nav.account-nav >> text=Endpoints & deliveries")
    card = page.locator("section.endpoint")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("failing")
    await expect(card).to_contain_text("every type")
    await page.click(f"a[href='/console/accounts/acme/endpoints/{stack.endpoint}']")
    deliveries = page.locator("section.delivery")
    await expect(deliveries).to_have_count(4)
    first = deliveries.first
    await expect(first).to_contain_text("outbound.canceled")
    await expect(first.locator(".attempt-count")).to_have_text("1 attempt")
    await expect(first.locator("table.attempts tbody tr")).to_have_count(1)
    await expect(first.locator("table.attempts")).to_contain_text("500")
    await expect(first.locator("pre.answer")).to_contain_text("<script>alert('answer')</script>")
    retried = await first.get_attribute("id")
    await first.locator("button.retry").click()
    await expect(page.locator("#retried")).to_contain_text("is due again")
    assert await stack.deliver() == 1  # only the retried one is due now
    await page.reload()
    again = page.locator(f"#{retried}")
    await expect(again.locator(".attempt-count")).to_have_text("2 attempts")
    await expect(again.locator("table.attempts tbody tr")).to_have_count(2)
    await shot(page, "endpoint")
    hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await page.fill("#since", hour_ago.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#event_types", "event.*")
    await page.click("#replay button")
    await expect(page.locator("#replayed")).to_have_text("2 deliveries queued by the replay.")
    await expect(deliveries).to_have_count(6)
    await page.select_option("#status", "failed")
    await page.click("form.filters >> text=Filter")
    await expect(page.locator("p.muted")).to_have_text("No deliveries match.")
    await shot(page, "replayed")

    await page.click("nav.account-nav >> text=Follower syncs")
    await expect(page.locator("tr.sync")).to_have_count(0)
    await page.click("#start-sync")
    await expect(page.locator("tr.sync")).to_have_count(1)
    await expect(page.locator("tr.sync")).to_contain_text("running")
    await expect(page.locator("#start-sync")).to_be_disabled()
    await shot(page, "syncs")

    await menus.put(stack.pool, "acme", MENU)
    await page.click("nav.account-nav >> text=Menu")
    await expect(page.locator("#menu-state")).to_have_text("pending")
    await expect(page.locator("table.menu tr.button")).to_have_count(3)
    await expect(page.locator("table.menu")).to_contain_text("<b>Today</b>")
    await expect(page.locator("table.menu")).to_contain_text("<script>alert('menu')</script>")
    await shot(page, "menu")

    phone = await browser.new_context(viewport=PHONE, is_mobile=True)
    # playwright types cookies() as Cookie and add_cookies() as SetCookieParam, the same keys.
    await phone.add_cookies(await context.cookies())  # type: ignore[arg-type]
    small = await phone.new_page()
    for path in (
        "/console/",
        "/console/accounts/acme",
        "/console/accounts/acme/messages",
        f"/console/accounts/acme/endpoints/{stack.endpoint}",
        "/console/accounts/acme/syncs",
        "/console/accounts/acme/replies",
        "/console/accounts/acme/menu",
    ):
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
