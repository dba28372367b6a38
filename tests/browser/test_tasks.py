"""The task list and the task view do what their controls say: filters and cursor paging show
exactly the matching tasks, the id search opens the task, and a retry with an edited payload
runs the edited payload (invalid JSON is refused in the page, nothing sent)."""

import asyncio
import re
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.views import visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer

PAGE_SIZE = 50  # the page's; the test only needs more tasks than one page holds


def many_of_one_type(server: LiveServer, count: int) -> set[str]:
    specs = [{"type": "page.probe", "payload": {"n": n}, "queue": "paging"} for n in range(count)]
    with server.client() as http:
        response = http.post("/api/v1/tasks/bulk", json=specs)
    assert response.status_code == 201, response.text
    return {task["id"] for task in response.json()["tasks"]}


def submitted(server: LiveServer, type: str, payload: Any = None, **fields: Any) -> dict[str, Any]:
    with server.client() as http:
        return http_seed.submit(http, type, payload, **fields)


def dead_task(server: LiveServer, type: str, payload: Any) -> dict[str, Any]:
    with server.client() as http:
        return http_seed.failed(http, type, payload, error="needs a fix")


async def shown_ids(page: Page) -> set[str]:
    ids: list[str] = await page.get_by_test_id("task-row").evaluate_all("rows => rows.map(r => r.dataset.taskId)")
    return set(ids)


async def test_filters_and_paging_show_exactly_the_matching_tasks(server: LiveServer, page: Page) -> None:
    wanted = await asyncio.to_thread(many_of_one_type, server, PAGE_SIZE + 5)
    await asyncio.to_thread(submitted, server, "page.other", queue="paging")  # filtered out
    await visit(page, server.url, "/tasks")
    await page.get_by_test_id("filter-type").fill("page.probe")
    await page.get_by_test_id("apply-filters").click()
    await expect(page.get_by_test_id("task-row")).to_have_count(PAGE_SIZE)
    first = await shown_ids(page)
    await page.get_by_test_id("next-page").click()
    await expect(page.get_by_test_id("task-row")).to_have_count(5)
    second = await shown_ids(page)
    assert first | second == wanted
    assert not first & second


async def test_the_id_search_opens_the_task(server: LiveServer, page: Page) -> None:
    task = await asyncio.to_thread(submitted, server, "search.probe", {"find": "me"})
    await visit(page, server.url, "/tasks")
    await page.get_by_test_id("search").fill(task["id"])
    await page.get_by_test_id("search-go").click()
    view = page.get_by_test_id("task-view")
    await expect(view).to_have_attribute("data-task-id", task["id"])
    await expect(page.get_by_test_id("task-type")).to_have_text("search.probe")
    await expect(page.get_by_test_id("task-payload")).to_contain_text('"find": "me"')


def task_of(server: LiveServer, task_id: str) -> dict[str, Any]:
    with server.client() as http:
        return http_seed.task(http, task_id)


async def test_retry_with_an_edited_payload_runs_the_edit_and_refuses_bad_json(server: LiveServer, page: Page) -> None:
    dead = await asyncio.to_thread(dead_task, server, "edit.probe", {"version": 1})
    await visit(page, server.url, f"/tasks/{dead['id']}")
    await expect(page.get_by_test_id("task-view")).to_have_attribute("data-state", "failed")
    editor = page.get_by_test_id("retry-payload")
    await expect(editor).to_have_value(re.compile(r'"version": 1'))

    await editor.fill('{"version": 2,')
    await page.get_by_test_id("retry-submit").click()
    await expect(page.get_by_test_id("toast")).to_contain_text("JSON")
    assert (await asyncio.to_thread(task_of, server, dead["id"]))["state"] == "failed"

    await editor.fill('{"version": 2}')
    await page.get_by_test_id("retry-submit").click()
    await expect(page.get_by_test_id("task-view")).to_have_attribute("data-state", "pending")
    retried = await asyncio.to_thread(task_of, server, dead["id"])
    assert (retried["state"], retried["payload"]) == ("pending", {"version": 2})
