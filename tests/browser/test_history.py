"""PostgreSQL history on the dashboard: a task retention removed opens from history (and says so,
without cancel or retry), and the tasks view switches between live and history."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.views import row, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer, live_server, wait_until
from tests.helpers.postgres import running_postgres


def outbox_depth(server: LiveServer) -> float:
    with server.client() as http:
        lines = http.get("/metrics").text.splitlines()
    (line,) = [line for line in lines if line.startswith("taskline_history_outbox_depth ")]
    return float(line.split()[1])


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A server on SQLite with history, and the id of a task it archived and then, restarted with
    a retention of a millisecond (retention runs at start), removed from the live backend."""
    workdir = Path(tmp_path_factory.mktemp("history-dashboard"))
    with running_postgres() as postgres:
        with live_server(workdir, postgres_url=postgres.url) as first, first.client() as http:
            task_id = str(http_seed.completed(http, "history.probe", {"kept": True}, result=42)["id"])
            wait_until(lambda: outbox_depth(first) == 0, what="the task archived")
        with live_server(workdir, postgres_url=postgres.url, retention="0.001") as server:
            with server.client() as http:
                wait_until(lambda: http.get(f"/api/v1/tasks/{task_id}").headers.get("x-taskline-source") == "history")
            yield server, task_id


async def test_a_task_from_history_says_so_and_offers_no_actions(archived: tuple[LiveServer, str], page: Page) -> None:
    server, task_id = archived
    await visit(page, server.url, f"/tasks/{task_id}")

    await expect(page.get_by_test_id("task-from-history")).to_be_visible()
    await expect(page.get_by_test_id("task-view")).to_have_attribute("data-source", "history")
    await expect(page.get_by_test_id("task-state")).to_contain_text("completed")
    await expect(page.get_by_test_id("task-result")).to_have_text("42")
    await expect(page.get_by_test_id("task-retry")).to_have_count(0)
    await expect(page.get_by_test_id("task-cancel")).to_have_count(0)


async def test_the_tasks_view_switches_to_history(archived: tuple[LiveServer, str], page: Page) -> None:
    server, task_id = archived
    await visit(page, server.url, "/tasks")
    await expect(page.get_by_test_id("task-table")).to_be_visible()
    await expect(row(page, "task-row", task_id=task_id)).to_have_count(0)  # gone from the live backend

    await page.get_by_test_id("filter-source").select_option("history")
    await page.get_by_test_id("apply-filters").click()

    await expect(page).to_have_url(f"{server.url}/#/tasks?source=history")
    await expect(page.get_by_role("heading", name="Tasks from history")).to_be_visible()
    await expect(row(page, "task-row", task_id=task_id, state="completed")).to_be_visible()
