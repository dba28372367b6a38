"""The schedules view: each schedule with when it runs, its next run and the task its last run
submitted; pause, resume and remove reach the server, and a schedule added elsewhere, and its
runs, show on the open page."""

import asyncio
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.browser.views import row, visit
from tests.helpers.live import LiveServer

QUEUE = "dash-schedules"  # its own: the tasks the runs submit must not touch another test's counts


def add(server: LiveServer, name: str, **timing: Any) -> dict[str, Any]:
    with server.client() as http:
        task = {"type": "dash.tick", "queue": QUEUE, "payload": {"from": name}}
        response = http.post("/api/v1/schedules", json={"name": name, **timing, "task": task})
        assert response.status_code == 201, response.text
        schedule: dict[str, Any] = response.json()
        return schedule


def read(server: LiveServer, name: str) -> httpx.Response:
    with server.client() as http:
        return http.get(f"/api/v1/schedules/{name}")


def task_of(server: LiveServer, task_id: str) -> dict[str, Any]:
    with server.client() as http:
        task: dict[str, Any] = http.get(f"/api/v1/tasks/{task_id}").json()
        return task


def remove_if_there(server: LiveServer, name: str) -> None:
    with server.client() as http:
        http.delete(f"/api/v1/schedules/{name}")


async def test_schedules_show_and_their_controls_reach_the_server(server: LiveServer, page: Page) -> None:
    await asyncio.to_thread(add, server, "dash-nightly", cron="0 2 * * *", timezone="Europe/Berlin")
    try:
        await visit(page, server.url, "/schedules")
        nightly = row(page, "schedule-row", schedule="dash-nightly")
        await expect(nightly).to_have_attribute("data-paused", "false")
        await expect(nightly).to_contain_text("0 2 * * * Europe/Berlin")
        await expect(nightly).to_contain_text(f"dash.tick on {QUEUE}")
        await expect(nightly.get_by_test_id("schedule-next")).to_contain_text("in ")
        await expect(nightly.get_by_test_id("schedule-last")).to_have_text("never")

        await nightly.get_by_test_id("schedule-pause").click()
        await expect(nightly).to_have_attribute("data-paused", "true")
        assert (await asyncio.to_thread(read, server, "dash-nightly")).json()["paused"] is True
        await nightly.get_by_test_id("schedule-resume").click()
        await expect(nightly).to_have_attribute("data-paused", "false")
        assert (await asyncio.to_thread(read, server, "dash-nightly")).json()["paused"] is False

        await nightly.get_by_test_id("schedule-remove").click()
        confirm = page.get_by_test_id("confirm")
        await expect(confirm).to_contain_text("Remove schedule dash-nightly?")
        await confirm.get_by_test_id("confirm-ok").click()
        await expect(nightly).to_have_count(0)
        assert (await asyncio.to_thread(read, server, "dash-nightly")).status_code == 404
    finally:
        await asyncio.to_thread(remove_if_there, server, "dash-nightly")


async def test_a_schedule_added_elsewhere_and_its_runs_show_on_the_open_page(server: LiveServer, page: Page) -> None:
    await visit(page, server.url, "/schedules")
    await expect(page.get_by_test_id("schedule-table")).to_be_attached()
    await expect(page.get_by_test_id("conn")).to_have_attribute("data-state", "live")
    try:
        await asyncio.to_thread(add, server, "dash-often", every=1)
        often = row(page, "schedule-row", schedule="dash-often")
        await expect(often).to_contain_text("every 1 s")
        # The server's scheduler runs it; the task of a run is linked from the row.
        last_task = often.get_by_test_id("schedule-last-task")
        await expect(last_task).to_be_attached()
        task = await asyncio.to_thread(task_of, server, await last_task.inner_text())
        assert (task["type"], task["queue"], task["payload"]) == ("dash.tick", QUEUE, {"from": "dash-often"})
        assert task["unique_key"].startswith("dash-often:")
    finally:
        await asyncio.to_thread(remove_if_there, server, "dash-often")
    await expect(often).to_have_count(0)  # schedule.deleted reached the page
