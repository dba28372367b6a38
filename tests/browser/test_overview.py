"""The page loads on every view without a console error, and the overview's counts and charts follow
tasks submitted and settled through the API while the page stays open (no reload)."""

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.views import NAV, VIEWS, row, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer

STATES = ("pending", "scheduled", "running", "retrying", "completed", "failed", "cancelled")


def seed_every_state(server: LiveServer) -> dict[str, Any]:
    """One task in each state but retrying (that needs a backoff to sit in), one worker registered."""
    with server.client() as http:
        http_seed.submit(http, "tour.pending", queue="tour")
        http_seed.submit(http, "tour.scheduled", queue="tour", delay=3600)
        running = http_seed.submit(http, "tour.running", queue="tour")
        http_seed.lease(http, running)
        http_seed.completed(http, "tour.done", {"n": 1}, result={"ok": True}, queue="tour")
        dead = http_seed.failed(http, "tour.dead", {"n": 2}, error="it broke", queue="tour")
        cancelled = http_seed.submit(http, "tour.cancelled", queue="tour")
        assert http.delete(f"/api/v1/tasks/{cancelled['id']}").status_code == 200
        beat = http.post("/api/v1/workers/tour-worker/heartbeat", json={"host": "tour-host", "queues": ["tour"]})
        assert beat.status_code == 200, beat.text
        stats: dict[str, Any] = http.get("/api/v1/stats").json()
    return {"stats": stats, "dead": dead}


async def test_every_view_loads_without_console_errors(server: LiveServer, page: Page) -> None:
    seeded = await asyncio.to_thread(seed_every_state, server)
    await visit(page, server.url, "/")
    for state in STATES:
        await expect(page.get_by_test_id(f"count-{state}")).to_have_text(str(seeded["stats"]["states"][state]))
    # Each view is left only once its data has drawn, so an error while loading it shows here.
    drawn = {
        "/workers": row(page, "worker-row", worker_id="tour-worker"),
        "/queues": row(page, "queue-row", queue="tour"),
    }
    for route, anchor in VIEWS.items():
        await page.get_by_test_id(NAV[route]).click()  # through the nav, as a person would
        assert page.url.endswith(f"#{route}")
        await expect(drawn.get(route) or page.get_by_test_id(anchor or NAV[route])).to_be_attached()
    await visit(page, server.url, f"/tasks/{seeded['dead']['id']}")
    await expect(page.get_by_test_id("task-view")).to_have_attribute("data-state", "failed")
    await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")
    # Any console error, uncaught exception or dialog on the way fails the test (the `trouble` fixture).


async def test_a_malformed_hash_shows_not_found(server: LiveServer, page: Page) -> None:
    # `%E0` is no UTF-8 sequence: decoding it throws, which must land on the not-found view both
    # on a first load and on a hash change from a view already shown.
    not_found = page.get_by_role("heading", name="Not found")
    await visit(page, server.url, "/tasks/%E0")
    await expect(not_found).to_be_visible()
    await visit(page, server.url, "/")
    await expect(page.get_by_test_id("count-total")).not_to_have_text("–")
    await visit(page, server.url, "/tasks/%E0")
    await expect(not_found).to_be_visible()
    await expect(page.get_by_test_id("count-total")).to_have_count(0)


def series_sums(server: LiveServer) -> dict[str, int]:
    with server.client() as http:
        response = http.get("/api/v1/stats/series", params={"minutes": 60})
    assert response.status_code == 200, response.text
    minutes = response.json()["minutes"]
    return {
        "completed": sum(m["completed"] or 0 for m in minutes),
        "failed": sum(m["failed"] or 0 for m in minutes),
        "waits": sum((m["wait_s"] or {}).get("count", 0) for m in minutes),
    }


def stats(server: LiveServer) -> dict[str, Any]:
    with server.client() as http:
        body: dict[str, Any] = http.get("/api/v1/stats").json()
    return body


async def test_counts_and_charts_move_without_a_reload(server: LiveServer, page: Page) -> None:
    await visit(page, server.url, "/")
    throughput, wait = page.get_by_test_id("chart-throughput"), page.get_by_test_id("chart-wait")
    before, sums = await asyncio.to_thread(stats, server), await asyncio.to_thread(series_sums, server)
    # The page shows what the API says now; only then does the test change it.
    await expect(page.get_by_test_id("count-pending")).to_have_text(str(before["states"]["pending"]))
    await expect(throughput).to_have_attribute("data-completed", str(sums["completed"]))
    await page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    def three_submitted_two_completed_one_failed() -> None:
        with server.client() as http:
            for n in range(3):
                http_seed.submit(http, "count.probe", {"n": n}, queue="counts")
            http_seed.completed(http, "chart.probe", result=1, queue="chart")
            http_seed.completed(http, "chart.probe", result=2, queue="chart")
            http_seed.failed(http, "chart.probe", error="on purpose", queue="chart")

    await asyncio.to_thread(three_submitted_two_completed_one_failed)
    states = before["states"]
    await expect(page.get_by_test_id("count-pending")).to_have_text(str(states["pending"] + 3))
    await expect(page.get_by_test_id("count-completed")).to_have_text(str(states["completed"] + 2))
    await expect(page.get_by_test_id("count-failed")).to_have_text(str(states["failed"] + 1))
    await expect(page.get_by_test_id("count-total")).to_have_text(str(before["total"] + 6))
    await expect(throughput).to_have_attribute("data-completed", str(sums["completed"] + 2))
    await expect(throughput).to_have_attribute("data-failed", str(sums["failed"] + 1))
    await expect(wait).to_have_attribute("data-count", str(sums["waits"] + 3))  # three were leased
    await expect(page.get_by_test_id("queue-depths")).to_contain_text("counts")
    assert await page.evaluate("window.__sameDocument === true"), "the page reloaded"
