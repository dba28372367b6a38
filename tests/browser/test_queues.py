"""The queues view's controls reach the server: pause and resume change what the API says, and
purge asks first (naming the count) and then deletes the queue's pending tasks."""

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.views import row, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer, wait_until


async def test_queue_pause_resume_and_purge_reach_the_server(server: LiveServer, page: Page) -> None:
    def two_pending() -> None:
        with server.client() as http:
            for n in range(2):
                http_seed.submit(http, "purge.probe", {"n": n}, queue="purgeable")

    def queue_state() -> dict[str, Any]:
        with server.client() as http:
            queues: list[dict[str, Any]] = http.get("/api/v1/queues").json()["queues"]
        (queue,) = [q for q in queues if q["name"] == "purgeable"]
        return queue

    await asyncio.to_thread(two_pending)
    await visit(page, server.url, "/queues")
    queue = row(page, "queue-row", queue="purgeable")
    await queue.get_by_test_id("queue-pause").click()
    await expect(queue).to_have_attribute("data-paused", "true")
    assert (await asyncio.to_thread(queue_state))["paused"] is True
    await queue.get_by_test_id("queue-resume").click()
    await expect(queue).to_have_attribute("data-paused", "false")
    assert (await asyncio.to_thread(queue_state))["paused"] is False

    await queue.get_by_test_id("queue-purge").click()
    confirm = page.get_by_test_id("confirm")
    await expect(confirm).to_contain_text("2")
    await confirm.get_by_test_id("confirm-ok").click()
    await asyncio.to_thread(
        wait_until, lambda: sum(queue_state()["pending"].values()) == 0, what="the queue's pending tasks to be purged"
    )
    await expect(page.get_by_test_id("toast")).to_contain_text("2")
