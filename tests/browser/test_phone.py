"""On a 390×844 phone viewport no view scrolls sideways, with data as wide as the API allows on it
(the longest type, queue and schedule names, an unbroken payload string, a long worker host)."""

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, PageOpener
from tests.browser.views import NAV, VIEWS, row, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer

LONG_TYPE = "t" * 128  # SPEC §1: the longest names there are
LONG_QUEUE = "q" * 64
LONG_WORKER = "w" * 128
LONG_SCHEDULE = "s" * 128
UNBROKEN = "x" * 400


def wide_task(server: LiveServer, type: str) -> dict[str, Any]:
    with server.client() as http:
        return http_seed.submit(http, type, {"blob": UNBROKEN}, queue=LONG_QUEUE)


def wide_data(server: LiveServer) -> dict[str, dict[str, Any]]:
    pending = wide_task(server, LONG_TYPE)
    with server.client() as http:
        # Types of their own: leasing must not take the pending one above.
        http_seed.completed(http, LONG_TYPE[:-1] + "c", {"blob": UNBROKEN}, result={"blob": UNBROKEN}, queue=LONG_QUEUE)
        dead = http_seed.failed(http, LONG_TYPE[:-1] + "f", {"blob": UNBROKEN}, error=UNBROKEN, queue=LONG_QUEUE)
        beat = http.post(f"/api/v1/workers/{LONG_WORKER}/heartbeat", json={"host": "h" * 255, "queues": [LONG_QUEUE]})
        assert beat.status_code == 200, beat.text
        task = {"type": LONG_TYPE, "queue": LONG_QUEUE, "payload": {"blob": UNBROKEN}}
        body = {
            "name": LONG_SCHEDULE,
            "cron": "0 0 1 1 *",
            "timezone": "America/Argentina/ComodRivadavia",
            "task": task,
        }
        added = http.post("/api/v1/schedules", json=body)
        assert added.status_code in (200, 201), added.text
    return {"pending": pending, "dead": dead}


async def overflow(page: Page) -> dict[str, int] | None:
    """The document's widths when it is wider than the viewport, else None."""
    widths: dict[str, int] = await page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,"
        " body: document.body.scrollWidth})"
    )
    return widths if max(widths["scroll"], widths["body"]) > widths["client"] else None


async def test_no_view_scrolls_sideways_at_390_px(server: LiveServer, open_page: PageOpener) -> None:
    seeded = await asyncio.to_thread(wide_data, server)
    dead = seeded["dead"]
    page = await open_page(PHONE)
    wide: dict[str, dict[str, int]] = {}
    for route, anchor in {**VIEWS, f"/tasks/{dead['id']}": "task-payload"}.items():
        await visit(page, server.url, route)
        await expect(page.get_by_test_id(anchor or NAV[route])).to_be_attached()
        await expect(page.get_by_test_id("conn")).not_to_have_attribute("data-state", "connecting")
        # Measuring before the wide data has drawn would pass on an empty view: wait for the
        # widest thing each view shows (on /live, an event that arrives while it is open).
        if route == "/":
            await expect(page.get_by_test_id("queue-depths")).to_contain_text(LONG_QUEUE)
        elif route == "/live":
            fresh = await asyncio.to_thread(wide_task, server, LONG_TYPE[:-1] + "l")
            await expect(row(page, "event", task_id=fresh["id"])).to_be_attached()
        elif route == "/tasks":
            await expect(row(page, "task-row", task_id=seeded["pending"]["id"])).to_be_attached()
        elif route == "/failures":
            await expect(row(page, "failure-row", task_id=dead["id"])).to_be_attached()
            await expect(row(page, "dlq-row", task_id=dead["id"])).to_be_attached()
        elif route == "/workers":
            await expect(row(page, "worker-row", worker_id=LONG_WORKER)).to_be_attached()
        elif route == "/queues":
            await expect(row(page, "queue-row", queue=LONG_QUEUE)).to_be_attached()
        elif route == "/schedules":
            await expect(row(page, "schedule-row", schedule=LONG_SCHEDULE)).to_be_attached()
        if (widths := await overflow(page)) is not None:
            wide[route] = widths
    assert wide == {}, f"views wider than the 390 px viewport: {wide}"
