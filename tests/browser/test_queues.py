"""The queues view's controls reach the server: pause and resume change what the API says, and
purge asks first (naming the count as it is when clicked, not as the row was first drawn) and then
deletes the queue's pending tasks."""

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.views import row, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer, wait_until


async def test_queue_pause_resume_and_purge_reach_the_server(server: LiveServer, page: Page) -> None:
    def pending(count: int) -> None:
        with server.client() as http:
            for n in range(count):
                http_seed.submit(http, "purge.probe", {"n": n}, queue="purgeable")

    def queue_state() -> dict[str, Any]:
        with server.client() as http:
            queues: list[dict[str, Any]] = http.get("/api/v1/queues").json()["queues"]
        (queue,) = [q for q in queues if q["name"] == "purgeable"]
        return queue

    await asyncio.to_thread(pending, 2)
    await visit(page, server.url, "/queues")
    queue = row(page, "queue-row", queue="purgeable")
    await queue.get_by_test_id("queue-pause").click()
    await expect(queue).to_have_attribute("data-paused", "true")
    assert (await asyncio.to_thread(queue_state))["paused"] is True
    await queue.get_by_test_id("queue-resume").click()
    await expect(queue).to_have_attribute("data-paused", "false")
    assert (await asyncio.to_thread(queue_state))["paused"] is False

    await expect(queue.locator('td[data-label="normal"]')).to_have_text("2")
    # More tasks after the row drew: the refresh patches the numbers but keeps the row and its
    # purge button, so the confirmation must not name the count the button was drawn with.
    await asyncio.to_thread(pending, 5)
    await expect(queue.locator('td[data-label="normal"]')).to_have_text("7")
    await queue.get_by_test_id("queue-purge").click()
    confirm = page.get_by_test_id("confirm")
    await expect(confirm).to_contain_text("7 pending tasks")
    await confirm.get_by_test_id("confirm-ok").click()
    await asyncio.to_thread(
        wait_until, lambda: sum(queue_state()["pending"].values()) == 0, what="the queue's pending tasks to be purged"
    )
    await expect(page.get_by_test_id("toast")).to_contain_text("Purged 7 pending tasks")
