"""The failures view: recent failures and the DLQ; retrying one from the page puts it back to pending,
and clearing asks first in a `<dialog>` that names how many tasks go."""

import asyncio
import itertools

from playwright.async_api import Page, expect

from tests.browser.views import row, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer, wait_until

_types = (f"dlq.probe.{n}" for n in itertools.count())


def dead_task(server: LiveServer, error: str) -> str:
    # A type of its own each time: a task retried back to pending must not be leased in its place.
    with server.client() as http:
        return str(http_seed.failed(http, next(_types), {"why": error}, error=error, queue="dlq")["id"])


def state_of(server: LiveServer, task_id: str) -> str | None:
    """The task's state as the API tells it; None once it is gone (404)."""
    with server.client() as http:
        response = http.get(f"/api/v1/tasks/{task_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return str(response.json()["state"])


def dlq_size(server: LiveServer) -> int:
    with server.client() as http:
        return len(http.get("/admin/dlq", params={"limit": 500}).json()["tasks"])


async def test_retrying_one_from_the_dlq_moves_it_to_pending(server: LiveServer, page: Page) -> None:
    task_id = await asyncio.to_thread(dead_task, server, "retry me")
    await visit(page, server.url, "/failures")
    await expect(row(page, "failure-row", task_id=task_id)).to_be_visible()
    in_dlq = row(page, "dlq-row", task_id=task_id)
    await in_dlq.get_by_test_id("dlq-retry-one").click()

    await asyncio.to_thread(
        wait_until, lambda: state_of(server, task_id) == "pending", what="the retried task to be pending"
    )
    await expect(in_dlq).to_have_count(0)
    await expect(page.get_by_test_id("toast")).to_be_visible()


async def test_retrying_the_selected_dlq_tasks_retries_those_only(server: LiveServer, page: Page) -> None:
    chosen, left = [await asyncio.to_thread(dead_task, server, f"select {n}") for n in range(2)]
    await visit(page, server.url, "/failures")
    await row(page, "dlq-row", task_id=chosen).get_by_test_id("dlq-select").check()
    await expect(row(page, "dlq-row", task_id=left)).to_be_visible()
    await page.get_by_test_id("dlq-retry-selected").click()
    confirm = page.get_by_test_id("confirm")  # the page asks first, naming how many
    await expect(confirm).to_contain_text("Retry the 1 selected task?")
    await confirm.get_by_test_id("confirm-ok").click()

    await asyncio.to_thread(wait_until, lambda: state_of(server, chosen) == "pending", what="the selected task retried")
    await expect(row(page, "dlq-row", task_id=chosen)).to_have_count(0)
    await expect(row(page, "dlq-row", task_id=left)).to_be_visible()
    assert await asyncio.to_thread(state_of, server, left) == "failed"


async def test_clearing_the_dlq_asks_first_naming_the_count(server: LiveServer, page: Page) -> None:
    doomed = [await asyncio.to_thread(dead_task, server, f"clear me {n}") for n in range(2)]
    count = await asyncio.to_thread(dlq_size, server)
    await visit(page, server.url, "/failures")
    for task_id in doomed:
        await expect(row(page, "dlq-row", task_id=task_id)).to_be_visible()
    confirm = page.get_by_test_id("confirm")

    await page.get_by_test_id("dlq-clear").click()
    await expect(confirm).to_be_visible()
    await expect(confirm).to_contain_text(f"all {count} failed tasks")
    await confirm.get_by_test_id("confirm-cancel").click()
    await expect(confirm).to_be_hidden()
    assert [await asyncio.to_thread(state_of, server, t) for t in doomed] == ["failed", "failed"]

    await page.get_by_test_id("dlq-clear").click()
    await confirm.get_by_test_id("confirm-ok").click()
    await asyncio.to_thread(
        wait_until, lambda: all(state_of(server, t) is None for t in doomed), what="the DLQ to be cleared"
    )
    await expect(page.get_by_test_id("dlq-row")).to_have_count(0)
    assert await confirm.evaluate("el => el.tagName") == "DIALOG"


async def test_a_selected_task_retried_elsewhere_is_no_longer_counted(server: LiveServer, page: Page) -> None:
    gone, kept = [await asyncio.to_thread(dead_task, server, f"elsewhere {n}") for n in range(2)]
    await visit(page, server.url, "/failures")
    for task_id in (gone, kept):
        await row(page, "dlq-row", task_id=task_id).get_by_test_id("dlq-select").check()

    def retry_elsewhere() -> None:
        with server.client() as http:
            response = http.post("/admin/dlq/retry", json={"ids": [gone]})
        assert response.status_code == 200, response.text

    # Another tab (here the API) retries one of the two: once the page has re-read the DLQ, only
    # the one still shown is selected, and the confirmation counts that one.
    await asyncio.to_thread(retry_elsewhere)
    await expect(row(page, "dlq-row", task_id=gone)).to_have_count(0)
    await expect(row(page, "dlq-row", task_id=kept).get_by_test_id("dlq-select")).to_be_checked()
    await page.get_by_test_id("dlq-retry-selected").click()
    confirm = page.get_by_test_id("confirm")
    await expect(confirm).to_contain_text("Retry the 1 selected task?")
    await confirm.get_by_test_id("confirm-ok").click()
    await asyncio.to_thread(wait_until, lambda: state_of(server, kept) == "pending", what="the kept task retried")
