"""User input renders as text: a task whose payload, metadata, error and result (and a worker whose id
and host, on the workers view and in the live feed's worker events) hold an `<img onerror>` shows
those characters, creates no `img`, and opens no dialog.

A task's `type` and `queue` cannot hold `<` or `>` (SPEC §1 limits them to `[A-Za-z0-9_.:-]`), so the
markup goes everywhere else a user can put it. The dialog check alone would prove little (the CSP
forbids inline handlers, so even an injected `img` could not run `alert`); the `img` check is the one
that catches markup built from data.
"""

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import PageTrouble
from tests.browser.views import XSS, row, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer

INJECTED = 'img[src="x"]'


def hostile_tasks(server: LiveServer) -> dict[str, Any]:
    with server.client() as http:
        dead = http_seed.failed(
            http, "xss.probe", {"html": XSS}, error=f"failed with {XSS}", metadata={"note": XSS}, queue="xss"
        )
        done = http_seed.completed(http, "xss.probe", {"html": XSS}, result={"html": XSS}, queue="xss")
    heartbeat(server, XSS)
    return {"dead": dead, "done": done}


def heartbeat(server: LiveServer, worker_id: str) -> None:
    """A worker whose id is `worker_id` and whose host is markup (its first beat: it joins)."""
    with server.client() as http:
        beat = http.post(f"/api/v1/workers/{worker_id}/heartbeat", json={"host": f"host {XSS}", "queues": ["xss"]})
        assert beat.status_code == 200, beat.text


async def test_hostile_task_data_renders_as_text(server: LiveServer, page: Page, trouble: PageTrouble) -> None:
    tasks = await asyncio.to_thread(hostile_tasks, server)
    dead, done = tasks["dead"]["id"], tasks["done"]["id"]

    await visit(page, server.url, f"/tasks/{dead}")
    await expect(page.get_by_test_id("task-view")).to_have_attribute("data-state", "failed")
    await expect(page.get_by_test_id("task-payload")).to_contain_text(XSS)
    await expect(page.get_by_test_id("task-metadata")).to_contain_text(XSS)
    await expect(page.get_by_test_id("task-error").first).to_contain_text(f"failed with {XSS}")
    assert await page.locator(INJECTED).count() == 0

    await visit(page, server.url, f"/tasks/{done}")
    await expect(page.get_by_test_id("task-view")).to_have_attribute("data-task-id", done)
    await expect(page.get_by_test_id("task-result")).to_contain_text(XSS)
    assert await page.locator(INJECTED).count() == 0

    await visit(page, server.url, "/failures")
    await expect(row(page, "failure-row", task_id=dead)).to_be_visible()
    await expect(row(page, "dlq-row", task_id=dead)).to_be_visible()
    assert await page.locator(INJECTED).count() == 0

    await visit(page, server.url, "/workers")
    await expect(row(page, "worker-row", worker_id=XSS)).to_contain_text(XSS)
    assert await page.locator(INJECTED).count() == 0

    await visit(page, server.url, "/tasks")
    await expect(row(page, "task-row", task_id=dead)).to_be_visible()
    assert await page.locator(INJECTED).count() == 0

    # The live feed draws worker ids and hosts from the events themselves (not from /workers):
    # a worker joining while it is open.
    await visit(page, server.url, "/live")
    await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")
    joined = f"{XSS} joined"
    await asyncio.to_thread(heartbeat, server, joined)
    event = row(page, "event", event="worker.joined").filter(has_text=joined)
    await expect(event).to_have_count(1)
    await expect(event).to_contain_text(f"host {XSS}")
    assert await page.locator(INJECTED).count() == 0
    assert trouble.dialogs == []
