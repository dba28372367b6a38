"""Pausing a worker from the page reaches the worker: a real `taskline worker` process over HTTP,
whose own log (what its heartbeat answer told it) is what the test reads, not only the server's record."""

import asyncio
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.browser.views import row, visit
from tests.helpers.live import LiveServer, WorkerProcess, wait_until, worker_process


def registered(server: LiveServer, pid: int) -> list[dict[str, Any]]:
    with server.client() as http:
        return [w for w in http.get("/admin/workers").json()["workers"] if w["pid"] == pid]


async def worker_says(worker: WorkerProcess, line: str) -> None:
    await asyncio.to_thread(wait_until, lambda: line in worker.output(), what=f"the worker to log {line!r}")


async def test_pausing_a_worker_from_the_page_reaches_the_worker(
    server: LiveServer, page: Page, tmp_path: Path
) -> None:
    # The built-in handlers, on a queue of its own: it must take nothing another test submits.
    with worker_process(tmp_path, "--queues", "dash-workers", server=server.url) as worker:
        pid = worker.process.pid
        await asyncio.to_thread(wait_until, lambda: registered(server, pid), what="the worker to register")
        ((me),) = await asyncio.to_thread(registered, server, pid)
        await visit(page, server.url, "/workers")
        mine = row(page, "worker-row", worker_id=me["id"])
        await expect(mine).to_have_attribute("data-state", "active")

        await mine.get_by_test_id("worker-pause").click()
        await expect(mine).to_have_attribute("data-state", "paused")
        await worker_says(worker, "paused; taking no new tasks")
        assert "resumed" not in worker.output()

        await mine.get_by_test_id("worker-resume").click()
        await expect(mine).to_have_attribute("data-state", "active")
        await worker_says(worker, f"worker {me['id']}: resumed")
        assert worker.process.poll() is None, worker.output()
