"""The wire format reads back what it writes, so clients see the task the server stored."""

import json

from taskline.client.events import Event as ClientEvent
from taskline.client.events import event_from_json
from taskline.client.schedules import schedule_from_json, schedule_to_json
from taskline.core.schedules import Schedule, ScheduleDefinition
from taskline.core.states import TaskState
from taskline.core.task import AttemptError, Lease, Task
from taskline.core.workers import WorkerRecord, WorkerState
from taskline.events.types import Event, EventName
from taskline.wire import (
    event_json,
    from_rfc3339,
    lease_from_json,
    lease_json,
    rfc3339,
    schedule_json,
    task_from_json,
    task_json,
    worker_from_json,
    worker_json,
)


def test_a_task_survives_the_round_trip() -> None:
    task = Task(
        id="0190aaaa-0000-7000-8000-000000000001",
        type="email",
        queue="mail",
        payload={"to": ["a@b.c"]},
        priority=3,
        scheduled_at=1_700_000_000.5,
        unique_key="k",
        metadata={"tenant": 7},
        state=TaskState.RETRYING,
        attempts=2,
        error="boom",
        errors=[AttemptError(1, "boom", 1_700_000_001.25)],
        progress=40.0,
        worker_id="w1",
        created_at=1_700_000_000.125,
        updated_at=1_700_000_002.0,
        started_at=1_700_000_001.0,
    )

    back = task_from_json(task_json(task))

    assert back == task


def test_a_lease_survives_the_round_trip() -> None:
    lease = Lease(Task(id="t", type="x", created_at=1.0, updated_at=1.0), "tok", 1_700_000_030.0)

    assert lease_from_json(lease_json(lease)) == lease


def test_times_keep_millisecond_precision() -> None:
    assert rfc3339(1_700_000_000.123) == "2023-11-14T22:13:20.123Z"
    assert from_rfc3339("2023-11-14T22:13:20.123Z") == 1_700_000_000.123
    assert rfc3339(None) is None


def test_queue_stats_survive_the_round_trip() -> None:
    from taskline.core.task import QueueStats
    from taskline.wire import queue_from_json, queue_json

    stats = QueueStats("mail", paused=True, pending=[1, 2, 3, 4], scheduled=5, running=6, failed=7, cancelled=8)

    assert queue_json(stats)["pending"] == {"low": 1, "normal": 2, "high": 3, "critical": 4}
    assert queue_from_json(queue_json(stats)) == stats


def test_a_worker_survives_the_round_trip_with_the_fields_spec_names() -> None:
    worker = WorkerRecord(
        id="box:42:abc",
        host="box",
        pid=42,
        queues=["high"],
        types=["email", "echo"],
        concurrency=10,
        active=3,
        processed=100,
        failed=2,
        state=WorkerState.PAUSED,
        started_at=1_700_000_000.25,
        last_seen=1_700_000_060.5,
    )

    shown = worker_json(worker)

    assert worker_from_json(shown) == worker
    assert list(shown) == [
        "id", "host", "pid", "queues", "types", "concurrency", "active", "processed", "failed", "state",
        "started_at", "last_seen",
    ]  # fmt: skip
    assert (shown["state"], shown["last_seen"]) == ("paused", "2023-11-14T22:14:20.500Z")


def test_a_schedule_and_its_fired_event_survive_the_round_trip() -> None:
    """The server's `schedule_json`, read by the client as `client.schedules` reads it; in an
    event the schedule is a summary (its task without payload)."""
    definition = ScheduleDefinition("nightly", None, 90.0, "Europe/Berlin", {"type": "report", "payload": {"n": [1]}})
    schedule = Schedule(definition, False, 1_800_000_000.0, 1_800_000_001.5, 1_800_000_090.0, 1_800_000_000.0, "t-1")
    data = schedule_json(schedule)
    assert (data["every"], data["next_run_at"], data["last_task_id"]) == (90, "2027-01-15T08:01:30.000Z", "t-1")
    assert schedule_to_json(schedule_from_json(json.loads(json.dumps(data)))) == data

    task = Task(id="t-1", type="report", queue="default", created_at=1.0, updated_at=1.0)
    fired = Event(id="5-1", name=EventName.SCHEDULE_FIRED, ts=2.0, task=task, schedule=schedule)
    message = event_json(fired)
    assert (message["event"], message["schedule"]["name"], message["task"]["id"]) == (
        "schedule.fired",
        "nightly",
        "t-1",
    )
    assert message["schedule"]["task"] == {"type": "report"}
    again = event_from_json(json.loads(json.dumps(message)))
    assert isinstance(again, ClientEvent)
    assert again.schedule == schedule_from_json({**data, "task": {"type": "report"}})
    assert (again.task.id if again.task else None, again.queue) == ("t-1", "default")
