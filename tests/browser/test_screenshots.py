"""Screenshots of the overview with live data, desktop and phone, for the README.

A plain run writes them to a temporary directory (the tree stays clean); `make screenshots` sets
DASHBOARD_SCREENSHOTS_DIR=docs to refresh docs/dashboard-desktop.png and docs/dashboard-phone.png.
The data is the same every run (fixed tasks, light scheme, fixed viewports, animations off);
only times and ids differ.
"""

import asyncio
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.browser.conftest import DESKTOP, PHONE, PageOpener
from tests.browser.views import visit
from tests.helpers import http_seed
from tests.helpers.live import LiveServer, live_server

SHOTS_DIR = os.environ.get("DASHBOARD_SCREENSHOTS_DIR")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # A server of its own: the picture shows exactly the day below, nothing other tests left.
    with live_server(tmp_path_factory.mktemp("screenshots"), lease_seconds="3600") as live:
        yield live


def a_working_day(server: LiveServer) -> dict[str, Any]:
    """A few queues at work: some done, some failed, some waiting, one running, one scheduled."""
    worker = {"worker_id": "worker-1"}  # every lease from one worker, which the page then lists
    with server.client() as http:
        http.post("/api/v1/workers/worker-1/heartbeat", json={"host": "app-1", "concurrency": 4})
        for n in range(12):
            http_seed.completed(
                http, "email.send", {"to": f"user{n}@example.com"}, result={"sent": True}, queue="emails", **worker
            )
        for n in range(5):
            http_seed.completed(
                http, "report.build", {"month": n + 1}, result={"rows": 100 * n}, queue="reports", **worker
            )
        http_seed.failed(
            http, "report.build", {"month": 13}, error="ValueError: month must be 1-12", queue="reports", **worker
        )
        http_seed.failed(
            http,
            "email.send",
            {"to": "nobody@invalid"},
            error="SMTP 550: mailbox unavailable",
            queue="emails",
            **worker,
        )
        for n, priority in enumerate(["low", "normal", "normal", "high", "critical", "normal", "low"]):
            http_seed.submit(http, "email.send", {"to": f"later{n}@example.com"}, queue="emails", priority=priority)
        for n in range(3):
            http_seed.submit(http, "image.resize", {"image": f"img{n}.png"}, queue="default")
        running = http_seed.submit(http, "video.encode", {"file": "talk.mp4"}, queue="media")
        http_seed.lease(http, running, worker_id="worker-1")
        http_seed.submit(http, "report.build", {"month": 12}, queue="reports", delay=3600)
        stats: dict[str, Any] = http.get("/api/v1/stats").json()
    return stats


async def shoot(open_page: PageOpener, server: LiveServer, viewport: ViewportSize, path: Path, stats: Any) -> None:
    page: Page = await open_page(viewport)
    await visit(page, server.url, "/")
    await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")
    await expect(page.get_by_test_id("count-total")).to_have_text(str(stats["total"]))
    await expect(page.get_by_test_id("chart-throughput")).to_have_attribute("data-completed", "17")
    await page.screenshot(path=path, full_page=True, animations="disabled", caret="hide")


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


async def test_screenshots_of_the_overview_with_live_data(
    server: LiveServer, open_page: PageOpener, tmp_path: Path
) -> None:
    stats = await asyncio.to_thread(a_working_day, server)
    folder = Path(SHOTS_DIR) if SHOTS_DIR else tmp_path
    desktop, phone = folder / "dashboard-desktop.png", folder / "dashboard-phone.png"
    await shoot(open_page, server, DESKTOP, desktop, stats)
    await shoot(open_page, server, PHONE, phone, stats)
    assert png_size(desktop)[0] == DESKTOP["width"]
    assert png_size(phone)[0] == PHONE["width"]
    assert png_size(phone)[1] >= PHONE["height"]
