"""On a 390×844 phone viewport no view scrolls sideways, with data as wide as the API allows on it
(the longest type and queue names, an unbroken payload string, a long worker host)."""

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, PageOpener
from tests.browser.views import NAV, VIEWS, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer

LONG_TYPE = "t" * 128  # SPEC §1: the longest names there are
LONG_QUEUE = "q" * 64
UNBROKEN = "x" * 400


def wide_data(server: LiveServer) -> dict[str, Any]:
    with server.client() as http:
        http_seed.submit(http, LONG_TYPE, {"blob": UNBROKEN}, queue=LONG_QUEUE)
        # Types of their own: leasing must not take the pending one above.
        http_seed.completed(http, LONG_TYPE[:-1] + "c", {"blob": UNBROKEN}, result={"blob": UNBROKEN}, queue=LONG_QUEUE)
        dead = http_seed.failed(http, LONG_TYPE[:-1] + "f", {"blob": UNBROKEN}, error=UNBROKEN, queue=LONG_QUEUE)
        beat = http.post(f"/api/v1/workers/{'w' * 128}/heartbeat", json={"host": "h" * 255, "queues": [LONG_QUEUE]})
        assert beat.status_code == 200, beat.text
    return dead


async def overflow(page: Page) -> dict[str, int] | None:
    """The document's widths when it is wider than the viewport, else None."""
    widths: dict[str, int] = await page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,"
        " body: document.body.scrollWidth})"
    )
    return widths if max(widths["scroll"], widths["body"]) > widths["client"] else None


async def test_no_view_scrolls_sideways_at_390_px(server: LiveServer, open_page: PageOpener) -> None:
    dead = await asyncio.to_thread(wide_data, server)
    page = await open_page(PHONE)
    wide: dict[str, dict[str, int]] = {}
    for route, anchor in {**VIEWS, f"/tasks/{dead['id']}": "task-payload"}.items():
        await visit(page, server.url, route)
        await expect(page.get_by_test_id(anchor or NAV[route])).to_be_attached()
        await expect(page.get_by_test_id("conn")).not_to_have_attribute("data-state", "connecting")
        if route in ("/tasks", "/failures", "/workers", "/queues"):  # wait for the wide rows themselves
            await expect(page.locator("[data-testid$='-row']").first).to_be_attached()
        if (widths := await overflow(page)) is not None:
            wide[route] = widths
    assert wide == {}, f"views wider than the 390 px viewport: {wide}"
