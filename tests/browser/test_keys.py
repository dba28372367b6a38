"""With API keys on, the page asks for a key, keeps it for the tab's session, shows the role, and
offers what the role may not do as disabled controls whose title names the role needed."""

import asyncio
import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PageTrouble
from tests.browser.views import row, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer, live_server

KEYS = {"admin": "dash-admin-key", "producer": "dash-producer-key", "worker": "dash-worker-key"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    api_keys = ",".join(f"{key}:{role}" for role, key in KEYS.items())
    with live_server(tmp_path_factory.mktemp("keyed"), api_keys=api_keys) as live:
        yield live


def a_queue_with_a_task(server: LiveServer) -> str:
    with server.client(KEYS["admin"]) as http:
        return str(http_seed.submit(http, "keys.probe", queue="keyed")["id"])


async def sign_in(page: Page, key: str) -> None:
    await expect(page.get_by_test_id("key-form")).to_be_visible()
    await page.get_by_test_id("key-input").fill(key)
    await page.get_by_test_id("key-submit").click()


async def test_a_producer_key_sees_admin_controls_disabled(
    server: LiveServer, page: Page, trouble: PageTrouble
) -> None:
    trouble.allow("the server responded with a status of 401")  # Chromium logs the page's keyless call
    task_id = await asyncio.to_thread(a_queue_with_a_task, server)
    await visit(page, server.url, "/queues")
    await sign_in(page, KEYS["producer"])
    await expect(page.get_by_test_id("key-role")).to_have_text("producer")
    await expect(page.get_by_test_id("key-form")).to_be_hidden()

    queue = row(page, "queue-row", queue="keyed")
    for control in ("queue-pause", "queue-purge"):
        button = queue.get_by_test_id(control)
        await expect(button).to_be_disabled()
        await expect(button).to_have_attribute("title", _naming("admin"))

    # Views of admin routes say what they need instead of calling them (a 403 would be a console
    # error, which fails the test); `role-note` is the page's own test id, beyond the brief's contract.
    await visit(page, server.url, "/workers")
    await expect(page.get_by_test_id("role-note")).to_contain_text("admin")
    await expect(page.get_by_test_id("worker-row")).to_have_count(0)
    await visit(page, server.url, "/failures")
    await expect(page.get_by_test_id("role-note")).to_contain_text("admin")
    for control in ("dlq-retry-selected", "dlq-retry-all", "dlq-clear"):
        await expect(page.get_by_test_id(control)).to_be_disabled()
        await expect(page.get_by_test_id(control)).to_have_attribute("title", _naming("admin"))

    # What a producer may do stays enabled: cancelling its task.
    await visit(page, server.url, f"/tasks/{task_id}")
    await expect(page.get_by_test_id("task-view")).to_have_attribute("data-state", "pending")
    await expect(page.get_by_test_id("task-cancel")).to_be_enabled()

    # The key lasts the tab's session: a reload asks for nothing.
    await page.reload()
    await expect(page.get_by_test_id("key-role")).to_have_text("producer")
    await expect(page.get_by_test_id("key-form")).to_be_hidden()


async def test_a_worker_key_may_not_cancel_and_forgetting_the_key_asks_again(
    server: LiveServer, page: Page, trouble: PageTrouble
) -> None:
    trouble.allow("the server responded with a status of 401")
    task_id = await asyncio.to_thread(a_queue_with_a_task, server)
    await visit(page, server.url, f"/tasks/{task_id}")
    await sign_in(page, KEYS["worker"])
    await expect(page.get_by_test_id("key-role")).to_have_text("worker")
    cancel = page.get_by_test_id("task-cancel")
    await expect(cancel).to_be_disabled()
    await expect(cancel).to_have_attribute("title", _naming("producer"))

    await page.get_by_test_id("key-forget").click()
    await expect(page.get_by_test_id("key-form")).to_be_visible()
    assert await page.evaluate("() => Object.values(sessionStorage).includes('dash-worker-key')") is False


def _naming(role: str) -> re.Pattern[str]:
    return re.compile(rf"\b{role}\b", re.IGNORECASE)
