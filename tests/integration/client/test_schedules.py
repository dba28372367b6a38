"""`client.schedules` against a live server on each backend, and straight on Redis: the same
calls give the same `Schedule`s and raise the same `taskline.errors`, and a schedule added
through the client is fired by the server's scheduler."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from taskline import AsyncClient, Client
from taskline.client import Event, Schedule
from taskline.errors import NotFound, ValidationFailed
from tests.helpers.live import wait_until
from tests.integration.client.conftest import Target
from tests.integration.client.event_reader import listening, reading


def test_add_get_list_replace_and_remove(client: Client, queue: str) -> None:
    name = f"nightly-{queue}"
    added = client.schedules.add(
        name, cron="0 2 * * *", timezone="Europe/Berlin", type="report", payload={"n": 1}, queue=queue, priority="high"
    )
    got = client.schedules.get(name)
    listed = [s.name for s in client.schedules.list()]
    replaced = client.schedules.add(name, every=timedelta(minutes=5), type="digest", queue=queue)
    client.schedules.remove(name)

    assert isinstance(added, Schedule)
    assert (added.cron, added.every, added.timezone, added.paused) == ("0 2 * * *", None, "Europe/Berlin", False)
    assert (added.task["type"], added.task["payload"], added.task["queue"], added.task["priority"]) == (
        "report",
        {"n": 1},
        queue,
        2,
    )
    assert added.next_run_at is not None
    assert added.next_run_at.tzinfo is not None
    berlin = added.next_run_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.hour, berlin.minute, berlin.second) == (2, 0, 0)
    assert (added.last_run_at, added.last_task_id) == (None, None)
    assert got == added
    assert name in listed
    assert listed == sorted(listed)
    assert (replaced.cron, replaced.every, replaced.task["type"]) == (None, 300.0, "digest")
    assert replaced.created_at == added.created_at
    with pytest.raises(NotFound):
        client.schedules.get(name)
    with pytest.raises(NotFound):
        client.schedules.remove(name)


def test_pause_and_resume(client: Client, queue: str) -> None:
    name = f"pausing-{queue}"
    client.schedules.add(name, every=3600, type="report", queue=queue)

    paused = client.schedules.pause(name)
    again = client.schedules.pause(name)
    kept = client.schedules.add(name, every=7200, type="report", queue=queue)  # a replace keeps it paused
    resumed = client.schedules.resume(name)

    assert (paused.paused, paused.next_run_at) == (True, None)
    assert again == paused
    assert (kept.paused, kept.every) == (True, 7200)
    assert resumed.paused is False
    assert resumed.next_run_at is not None
    assert resumed.next_run_at > datetime.now(UTC) - timedelta(seconds=1)
    client.schedules.remove(name)


def test_errors_are_the_classes_of_taskline_errors(client: Client, queue: str) -> None:
    with pytest.raises(ValidationFailed) as both:
        client.schedules.add(f"both-{queue}", cron="* * * * *", every=60, type="report")
    with pytest.raises(ValidationFailed) as task_fields:
        client.schedules.add(f"bad-{queue}", cron="* * * * *", type="not a type", unique_key="k")  # type: ignore[call-arg]
    with pytest.raises(ValidationFailed) as zone:
        client.schedules.add(f"zone-{queue}", cron="0 2 * * *", timezone="Mars/Olympus", type="report")
    with pytest.raises(NotFound):
        client.schedules.pause(f"missing-{queue}")
    with pytest.raises(NotFound):
        client.schedules.get(f"q?{queue}")  # quoted into one path segment, not a query

    assert both.value.details
    assert {d["field"] for d in task_fields.value.details} >= {"task.type", "task.unique_key"}
    assert {d["field"] for d in zone.value.details} == {"timezone"}
    assert not [s for s in client.schedules.list() if s.name.endswith(queue)]  # nothing was stored


def test_the_server_fires_a_schedule_added_through_the_client(client: Client, queue: str) -> None:
    name = f"often-{queue}"
    client.schedules.add(name, every=1, type="echo", payload={"from": "schedule"}, queue=queue)

    wait_until(lambda: client.schedules.get(name).last_task_id is not None, what="the schedule's first run")
    fired = client.schedules.get(name)
    client.schedules.remove(name)
    assert fired.last_task_id is not None
    task = client.get(fired.last_task_id)

    assert (task.type, task.queue, task.payload) == ("echo", queue, {"from": "schedule"})
    assert task.unique_key is not None
    assert task.unique_key.startswith(f"{name}:")
    assert fired.last_run_at is not None


async def test_the_async_client_has_the_same_schedules(target: Target, queue: str) -> None:
    name = f"async-{queue}"
    async with AsyncClient(target.url) as client:
        added = await client.schedules.add(name, cron="@daily", type="report", queue=queue)
        paused = await client.schedules.pause(name)
        listed = [s.name for s in await client.schedules.list()]
        resumed = await client.schedules.resume(name)
        await client.schedules.remove(name)
        with pytest.raises(NotFound):
            await client.schedules.get(name)

    assert added.cron == "@daily"
    assert (paused.paused, resumed.paused) == (True, False)
    assert name in listed


async def test_events_carry_the_schedule_as_client_schedules_returns_it(target: Target, queue: str) -> None:
    """One shape of a schedule for a user: `client.events()` yields `taskline.client.Schedule`
    (times as datetimes, its task a summary), on every target."""
    name = f"evented-{queue}"
    async with AsyncClient(target.url) as client, reading(client, queue=queue) as reader:
        await listening(reader, client, queue)
        added = await client.schedules.add(name, cron="@daily", type="report", payload={"big": "x"}, queue=queue)
        items = await reader.until(lambda items: any(isinstance(i, Event) and i.schedule for i in items))
        await client.schedules.remove(name)

    (created, *_) = [i for i in items if isinstance(i, Event) and i.schedule is not None]
    assert created.name == "schedule.created"
    assert isinstance(created.schedule, Schedule)
    assert created.schedule.task == {"type": "report", "queue": queue, "priority": 1}
    assert (created.schedule.next_run_at, created.schedule.created_at) == (added.next_run_at, added.created_at)
    assert created.queue == queue
