"""The page stays live through the network's faults: it reaches the server through a proxy that the
test cuts (open connections closed, new ones refused) and restores, after which the events that
happened while it was cut show, each once; and where the proxy refuses WebSockets it polls."""

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PageTrouble
from tests.browser.views import row, visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer
from tests.helpers.proxy import CuttableProxy, cuttable_proxy


@pytest.fixture
def proxy(server: LiveServer) -> Iterator[CuttableProxy]:
    with cuttable_proxy(server.port) as cuttable:
        yield cuttable


def submitted(server: LiveServer, count: int) -> list[str]:
    """Submit straight to the server (not through the proxy): the page must learn of it by itself."""
    with server.client() as http:
        return [http_seed.submit(http, "live.probe", {"n": n}, queue="live")["id"] for n in range(count)]


async def test_events_missed_while_the_socket_was_down_show_after_it_comes_back(
    server: LiveServer, proxy: CuttableProxy, page: Page, trouble: PageTrouble
) -> None:
    # What Chromium itself logs for a refused or dropped connection while the proxy is cut.
    trouble.allow("net::ERR_CONNECTION_REFUSED", "net::ERR_CONNECTION_RESET", "net::ERR_EMPTY_RESPONSE")
    trouble.allow("WebSocket connection to")
    conn = page.get_by_test_id("conn")
    await visit(page, proxy.url, "/live")
    await expect(conn).to_have_attribute("data-state", "live")
    (before,) = await asyncio.to_thread(submitted, server, 1)
    await expect(row(page, "event", task_id=before, event="task.created")).to_have_count(1)

    proxy.cut()
    await expect(conn).not_to_have_attribute("data-state", "live")
    missed = await asyncio.to_thread(submitted, server, 3)
    proxy.restore()

    await expect(conn).to_have_attribute("data-state", "live")
    for task_id in missed:
        await expect(row(page, "event", task_id=task_id, event="task.created")).to_have_count(1)
    await expect(row(page, "event", task_id=before, event="task.created")).to_have_count(1)
    ids = await page.get_by_test_id("event").evaluate_all("rows => rows.map(r => r.dataset.eventId)")
    assert len(ids) == len(set(ids)), f"an event shows twice: {ids}"
    assert proxy.open_connections >= 1  # the page came back through the proxy, not around it


def stats(server: LiveServer) -> dict[str, Any]:
    with server.client() as http:
        body: dict[str, Any] = http.get("/api/v1/stats").json()
    return body


async def test_where_websockets_are_blocked_the_page_polls_and_still_moves(
    server: LiveServer, proxy: CuttableProxy, page: Page, trouble: PageTrouble
) -> None:
    trouble.allow("WebSocket connection to")  # Chromium's own line for each refused upgrade
    proxy.refuse_websockets = True
    await visit(page, proxy.url, "/")
    await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "polling")
    before = (await asyncio.to_thread(stats, server))["states"]["pending"]
    await expect(page.get_by_test_id("count-pending")).to_have_text(str(before))
    await asyncio.to_thread(submitted, server, 2)
    await expect(page.get_by_test_id("count-pending")).to_have_text(str(before + 2))
    await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "polling")
