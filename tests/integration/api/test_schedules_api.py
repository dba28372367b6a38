"""`/api/v1/schedules` (SPEC §10) against real servers on both backends: status codes, the wire
form, errors, and the `schedule.*` events on `/ws` (live and replayed with `?since=`)."""

import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.helpers.live import LiveServer, live_server
from tests.helpers.servers import RedisServer
from tests.integration.api.conftest import _flush, _redis_db
from tests.integration.api.events_ws import listen


@pytest.fixture
def name() -> str:
    return "s-" + uuid.uuid4().hex[:12]


def definition(name: str, queue: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "cron": "0 2 * * *",
        "timezone": "Europe/Berlin",
        "task": {"type": "echo", "queue": queue},
        **fields,
    }


def test_create_replace_read_pause_resume_delete(http: httpx.Client, name: str, queue: str) -> None:
    created = http.post("/api/v1/schedules", json=definition(name, queue))
    assert created.status_code == 201, created.text
    shown = created.json()
    assert set(shown) == {
        "name", "cron", "every", "timezone", "task", "paused", "created_at", "updated_at",
        "next_run_at", "last_run_at", "last_task_id",
    }  # fmt: skip
    assert (shown["cron"], shown["every"], shown["paused"], shown["last_task_id"]) == ("0 2 * * *", None, False, None)
    assert shown["task"]["queue"] == queue
    assert shown["next_run_at"].endswith(":00.000Z")

    replaced = http.post("/api/v1/schedules", json=definition(name, queue, cron=None, every=3600, timezone=None))
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["every"], replaced.json()["cron"], replaced.json()["timezone"]) == (3600, None, "UTC")
    assert replaced.json()["created_at"] == shown["created_at"]
    assert http.get(f"/api/v1/schedules/{name}").json() == replaced.json()
    assert name in [s["name"] for s in http.get("/api/v1/schedules").json()["schedules"]]

    for _ in range(2):  # both idempotent
        paused = http.post(f"/api/v1/schedules/{name}/pause")
        assert paused.status_code == 200
        assert (paused.json()["paused"], paused.json()["next_run_at"]) == (True, None)
    for _ in range(2):
        resumed = http.post(f"/api/v1/schedules/{name}/resume")
        assert resumed.status_code == 200
        assert resumed.json()["paused"] is False
        assert resumed.json()["next_run_at"] is not None

    deleted = http.delete(f"/api/v1/schedules/{name}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    for response in (
        http.get(f"/api/v1/schedules/{name}"),
        http.delete(f"/api/v1/schedules/{name}"),
        http.post(f"/api/v1/schedules/{name}/pause"),
        http.post(f"/api/v1/schedules/{name}/resume"),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == {
            "code": "not_found",
            "message": f"no schedule {name}",
            "details": {"resource": "schedule", "id": name},
        }


def test_bad_input_is_refused_and_changes_nothing(http: httpx.Client, name: str, queue: str) -> None:
    malformed = http.post("/api/v1/schedules", content=b"{", headers={"content-type": "application/json"})
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "invalid_json")

    broken = definition(name, queue, every=60, timezone="Nowhere/City")
    broken["task"] = {"type": "echo", "delay": 5, "priority": "urgent"}
    refused = http.post("/api/v1/schedules", json=broken)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"
    fields = {detail["field"] for detail in refused.json()["error"]["details"]}
    assert fields == {"cron", "timezone", "task.delay", "task.priority"}
    assert http.get(f"/api/v1/schedules/{name}").status_code == 404


def _through(event: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda received: bool(received) and received[-1]["event"] == event


def test_schedule_events_on_ws_live_and_replayed(server: LiveServer, http: httpx.Client, name: str, queue: str) -> None:
    wanted = "schedule.created,schedule.paused,schedule.resumed,schedule.fired,schedule.deleted"
    with listen(server, queue=queue, events=wanted) as events:
        assert http.post("/api/v1/schedules", json=definition(name, queue, cron=None, every=1)).status_code == 201
        received = events.until(_through("schedule.fired"))
        assert http.post(f"/api/v1/schedules/{name}/pause").status_code == 200
        received += events.until(_through("schedule.paused"))
        assert http.delete(f"/api/v1/schedules/{name}").status_code == 204
        received += events.until(_through("schedule.deleted"))

    kinds = [m["event"] for m in received]
    assert kinds[0] == "schedule.created"
    assert kinds[-2:] == ["schedule.paused", "schedule.deleted"]
    assert set(kinds[1:-2]) == {"schedule.fired"}  # every second until paused
    created, fired = received[0], received[1]
    assert created["schedule"]["name"] == name
    assert "task" not in created
    task = fired["task"]
    assert (task["queue"], task["type"]) == (queue, "echo")
    assert task["unique_key"] == f"{name}:{fired['schedule']['last_run_at']}"
    assert fired["schedule"]["last_task_id"] == task["id"]
    assert http.get(f"/api/v1/tasks/{task['id']}").json()["unique_key"] == task["unique_key"]

    with listen(server, queue=queue, events=wanted, since=created["id"]) as replay:
        assert [m["event"] for m in replay.until(_through("schedule.deleted"))] == kinds[1:]
    # Another queue's reader gets none of them: an end marker (a schedule of its own queue,
    # made after all of the above) is the first thing its replay holds.
    marker = definition(name + "-marker", "another-" + queue)
    with listen(server, queue="another-" + queue, since=created["id"]) as other_queue:
        assert http.post("/api/v1/schedules", json=marker).status_code == 201
        (first, *_) = other_queue.until(lambda received: len(received) >= 1)
        assert (first["event"], first["schedule"]["name"]) == ("schedule.created", marker["name"])


def test_every_second_across_two_servers_on_one_redis_submits_one_task_per_tick(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory, name: str, queue: str
) -> None:
    """Both servers run the scheduler loop on the same schedule: A alone first, then A and B
    racing, then B alone after A stops, so each server's loop must fire some ticks itself. Each
    task is announced exactly once, with its own tick (counts and ids, not timings)."""
    url = f"redis://127.0.0.1:{redis_server.port}/{next(_redis_db) % 16}"  # the database no other server has
    _flush(url)
    wanted = "schedule.fired,schedule.paused"
    with ExitStack() as server_a:
        first = server_a.enter_context(live_server(tmp_path_factory.mktemp("serve-a"), redis_url=url))
        with first.client() as http, listen(first, queue=queue, events=wanted) as events:
            assert http.post("/api/v1/schedules", json=definition(name, queue, cron=None, every=1)).status_code == 201
            announced = events.until(lambda received: len(received) >= 2)  # A alone
        with (
            live_server(tmp_path_factory.mktemp("serve-b"), redis_url=url) as second,
            second.client() as http,
            listen(second, queue=queue, events=wanted, since=announced[-1]["id"]) as events,
        ):
            announced += events.until(lambda received: len(received) >= 3)  # both
            server_a.close()  # A stops (SIGTERM, waited for): from here on only B fires
            a_stopped = time.time()
            announced += events.until(lambda received: len(_fired_after(received, a_stopped)) >= 2)
            assert http.post(f"/api/v1/schedules/{name}/pause").status_code == 200
            # The end marker: every advance came before the pause on the schedules' stream.
            announced += events.until(_through("schedule.paused"))
            tasks = http.get("/api/v1/tasks", params={"queue": queue, "limit": 500}).json()["tasks"]
            last = http.get(f"/api/v1/schedules/{name}").json()

    fired = [message for message in announced if message["event"] == "schedule.fired"]
    assert len(_fired_after(fired, a_stopped)) >= 2
    # The tasks of the ticks up to the last advance; one later than that is a firing the pause
    # overtook, which cancels its task (maintenance/schedules.py) and announces no fire.
    by_tick = {task["unique_key"].removeprefix(f"{name}:"): task for task in tasks}
    kept = {tick: task for tick, task in by_tick.items() if tick <= last["last_run_at"]}
    assert all(task["state"] == "cancelled" for tick, task in by_tick.items() if tick not in kept)
    fired_ids = [message["task"]["id"] for message in fired]
    assert len(fired_ids) == len(set(fired_ids))  # no task announced twice
    assert set(fired_ids) == {task["id"] for task in kept.values()}  # and every tick's task announced
    for message in fired:  # each announcement names its own tick and that tick's one task
        assert kept[message["schedule"]["last_run_at"]]["id"] == message["task"]["id"]
    assert all(tick.endswith(".000Z") for tick in kept)  # whole seconds
    assert last["last_task_id"] == fired_ids[-1]


def _fired_after(received: list[dict[str, Any]], at: float) -> list[dict[str, Any]]:
    return [m for m in received if m["event"] == "schedule.fired" and _seconds(m["ts"]) > at]


def _seconds(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
