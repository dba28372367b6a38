"""Periodic schedules (SPEC §10) on every backend: create, replace, read, list, delete, pause and
resume with their events; firing with a frozen clock, two schedulers racing on one tick, a
scheduler that died between submit and advance, and one down across several ticks."""

import asyncio
from datetime import datetime
from typing import Any

import orjson
import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.schedules import ScheduleDefinition, schedule_summary, tick_spec
from taskline.core.states import TaskState
from taskline.core.task import TaskFilter
from taskline.errors import NotFound, ValidationFailed
from taskline.events.types import Event, EventName
from taskline.maintenance.scheduler import SCHEDULES_RETRY_S, Scheduler
from taskline.maintenance.schedules import ScheduleFirer
from taskline.service import TaskService
from taskline.wire import event_json, rfc3339
from tests.helpers.seed import spec

START = 1_800_000_000.0  # the FrozenClock's start: 2027-01-15T08:00:00Z, a multiple of 60


def body(name: str = "every-minute", **fields: Any) -> dict[str, Any]:
    timing = {} if "cron" in fields else {"every": 60}
    return {"name": name, **timing, "task": {"type": "report", "payload": {"n": 1}, "queue": "reports"}, **fields}


@pytest.fixture
def service(backend: Backend, clock: FrozenClock) -> TaskService:
    return TaskService(backend, clock=clock)


async def drain(service: TaskService, cursor: Any) -> list[Event]:
    return await service.read_events(cursor, wait_s=0)


async def test_create_read_list_replace_and_delete(service: TaskService, clock: FrozenClock) -> None:
    cursor = await service.event_cursor()
    created, is_new = await service.put_schedule(body(timezone="Europe/Berlin"))
    assert is_new
    assert created.definition.task == {
        "type": "report",
        "queue": "reports",
        "payload": {"n": 1},
        "priority": 1,
        "max_retries": 3,
        "timeout": 300.0,
        "metadata": {},
        "webhook": None,
    }
    assert (created.paused, created.created_at, created.next_run_at) == (False, START, START + 60)
    assert (created.last_run_at, created.last_task_id) == (None, None)
    assert await service.schedule("every-minute") == created

    await service.pause_schedule("every-minute")
    clock.advance(10)
    replaced, is_new = await service.put_schedule(body(cron="0 2 * * *", timezone="Europe/Berlin"))
    assert not is_new
    assert (replaced.definition.cron, replaced.definition.every) == ("0 2 * * *", None)
    assert (replaced.paused, replaced.created_at, replaced.updated_at) == (True, START, START + 10)
    assert replaced.next_run_at is None  # paused state kept: no next run
    await service.put_schedule(body("a-first"))
    assert [s.name for s in await service.schedules()] == ["a-first", "every-minute"]

    await service.delete_schedule("every-minute")
    with pytest.raises(NotFound, match="no schedule every-minute"):
        await service.schedule("every-minute")
    events = [(e.name, e.schedule.name if e.schedule else None, e.queue) for e in await drain(service, cursor)]
    assert events == [
        (EventName.SCHEDULE_CREATED, "every-minute", "reports"),
        (EventName.SCHEDULE_PAUSED, "every-minute", "reports"),
        (EventName.SCHEDULE_UPDATED, "every-minute", "reports"),
        (EventName.SCHEDULE_CREATED, "a-first", "reports"),
        (EventName.SCHEDULE_DELETED, "every-minute", "reports"),
    ]


async def test_pause_and_resume_are_idempotent_and_resume_counts_from_now(
    service: TaskService, clock: FrozenClock
) -> None:
    await service.put_schedule(body())
    cursor = await service.event_cursor()
    paused = await service.pause_schedule("every-minute")
    assert (paused.paused, paused.next_run_at) == (True, None)
    assert await service.pause_schedule("every-minute") == paused
    clock.advance(300)  # five ticks pass while paused: none is made up
    assert await service.backend.due_schedules(limit=10) == []

    resumed = await service.resume_schedule("every-minute")
    assert (resumed.paused, resumed.next_run_at) == (False, START + 360)
    assert await service.resume_schedule("every-minute") == resumed
    assert [e.name for e in await drain(service, cursor)] == [EventName.SCHEDULE_PAUSED, EventName.SCHEDULE_RESUMED]


async def test_unknown_names_are_not_found_and_a_bad_definition_changes_nothing(service: TaskService) -> None:
    for call in (service.schedule, service.delete_schedule, service.pause_schedule, service.resume_schedule):
        with pytest.raises(NotFound):
            await call("nope")
    with pytest.raises(ValidationFailed) as refused:
        await service.put_schedule(body(task={"type": "x", "unique_key": "k"}))
    assert refused.value.details == [{"field": "task.unique_key", "message": "is set by the schedule for each tick"}]
    assert await service.schedules() == []


async def test_a_due_tick_submits_one_task_with_its_unique_key_and_announces_it(
    service: TaskService, clock: FrozenClock
) -> None:
    await service.put_schedule(body())
    firer = ScheduleFirer(service.backend, clock)
    assert await firer.run_once() == 0  # nothing due yet
    cursor = await service.event_cursor()
    clock.advance(60)

    assert await firer.run_once() == 1

    (task,) = (await service.list_tasks(TaskFilter(queue="reports"), limit=10, cursor=None)).tasks
    assert (task.type, task.payload, task.unique_key) == ("report", {"n": 1}, "every-minute:2027-01-15T08:01:00.000Z")
    schedule = await service.schedule("every-minute")
    assert (schedule.last_run_at, schedule.last_task_id, schedule.next_run_at) == (START + 60, task.id, START + 120)
    events = await drain(service, cursor)
    # Two streams on Redis (the task's queue, the schedules'): ordered to the millisecond only.
    assert sorted(e.name for e in events) == [EventName.SCHEDULE_FIRED, EventName.TASK_CREATED]
    (fired,) = [e for e in events if e.name == EventName.SCHEDULE_FIRED]
    assert fired.schedule == schedule_summary(schedule)  # its task without payload (as a task event's)
    assert fired.task is not None
    assert fired.task.id == task.id
    assert await service.backend.next_schedule_at() == START + 120


async def test_two_schedulers_racing_on_one_tick_submit_it_once(service: TaskService, clock: FrozenClock) -> None:
    await service.put_schedule(body())
    clock.advance(60)
    first, second = ScheduleFirer(service.backend, clock), ScheduleFirer(service.backend, clock)
    (seen_by_first,) = await service.backend.due_schedules(limit=10)
    (seen_by_second,) = await service.backend.due_schedules(limit=10)

    assert await first.fire(seen_by_first)
    assert not await second.fire(seen_by_second)  # its submit found the key, its advance lost
    # One that read the schedule only after the first advanced it sees a tick still to come.
    assert not await second.fire(await service.schedule("every-minute"))

    assert len((await service.list_tasks(TaskFilter(), limit=10, cursor=None)).tasks) == 1
    assert (await service.schedule("every-minute")).next_run_at == START + 120


async def test_two_schedulers_running_at_once_over_many_ticks_submit_each_tick_once(
    service: TaskService, clock: FrozenClock
) -> None:
    await service.put_schedule(body())
    cursor = await service.event_cursor()
    first, second = ScheduleFirer(service.backend, clock), ScheduleFirer(service.backend, clock)
    for _ in range(20):
        clock.advance(60)
        fired = await asyncio.gather(first.run_once(), second.run_once())
        assert sum(fired) == 1

    tasks = (await service.list_tasks(TaskFilter(), limit=100, cursor=None)).tasks
    assert len({t.unique_key for t in tasks}) == len(tasks) == 20
    announced = [e for e in await service.read_events(cursor, wait_s=0, limit=1000) if e.schedule is not None]
    assert len(announced) == 20
    assert {e.task.id for e in announced if e.task is not None} == {t.id for t in tasks}


async def test_a_tick_submitted_by_a_scheduler_that_died_before_advancing_is_not_submitted_again(
    service: TaskService, clock: FrozenClock
) -> None:
    await service.put_schedule(body())
    clock.advance(60)
    (due,) = await service.backend.due_schedules(limit=10)
    (orphan,) = await service.backend.submit([tick_spec(due, START + 60, rfc3339(START + 60) or "")])

    assert await ScheduleFirer(service.backend, clock).run_once() == 1

    assert [t.id for t in (await service.list_tasks(TaskFilter(), limit=10, cursor=None)).tasks] == [orphan.task.id]
    assert (await service.schedule("every-minute")).last_task_id == orphan.task.id


async def test_ticks_missed_while_no_scheduler_ran_are_submitted_once(service: TaskService, clock: FrozenClock) -> None:
    await service.put_schedule(body())
    clock.advance(5 * 60 + 30)  # every server down across five ticks

    assert await ScheduleFirer(service.backend, clock).run_once() == 1
    assert await ScheduleFirer(service.backend, clock).run_once() == 0

    (task,) = (await service.list_tasks(TaskFilter(), limit=10, cursor=None)).tasks
    assert task.unique_key == "every-minute:2027-01-15T08:05:00.000Z"  # the latest tick <= now
    schedule = await service.schedule("every-minute")
    assert (schedule.last_run_at, schedule.next_run_at) == (START + 300, START + 360)


async def test_a_berlin_schedule_fires_once_a_day_across_both_dst_changes(
    service: TaskService, clock: FrozenClock
) -> None:
    """02:30 Europe/Berlin: skipped on 2026-03-29 (fires at 03:00 CEST, once), repeated on
    2026-10-25 (fires at the first 02:30, once); the months between, with no scheduler, once."""
    firer = ScheduleFirer(service.backend, clock)

    async def fire_at(when: str) -> list[str]:
        clock.set(datetime.fromisoformat(when).timestamp())
        await firer.run_once()
        await firer.run_once()  # a second look at the same instant finds nothing more due
        page = await service.list_tasks(TaskFilter(queue="reports"), limit=50, cursor=None)
        return sorted(t.unique_key.removeprefix("berlin:") for t in page.tasks if t.unique_key)

    clock.set(datetime.fromisoformat("2026-03-28T12:00:00+00:00").timestamp())
    await service.put_schedule(body("berlin", cron="30 2 * * *", timezone="Europe/Berlin"))

    assert await fire_at("2026-03-29T00:59:00+00:00") == []  # 01:59 CET; 02:30 never comes
    assert await fire_at("2026-03-29T01:00:00+00:00") == ["2026-03-29T01:00:00.000Z"]  # 03:00 CEST
    assert await fire_at("2026-03-30T00:30:00+00:00") == ["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]
    # Down from March 31 to October 24: one task, for the last 02:30 before now.
    fired = await fire_at("2026-10-24T12:00:00+00:00")
    assert fired == ["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z", "2026-10-24T00:30:00.000Z"]
    assert await fire_at("2026-10-25T00:30:00+00:00") == [*fired, "2026-10-25T00:30:00.000Z"]  # 02:30 CEST
    assert await fire_at("2026-10-25T01:30:00+00:00") == [*fired, "2026-10-25T00:30:00.000Z"]  # 02:30 CET: not again
    schedule = await service.schedule("berlin")
    assert schedule.next_run_at == datetime.fromisoformat("2026-10-26T01:30:00+00:00").timestamp()


async def test_a_schedule_that_cannot_fire_does_not_stop_the_others_or_the_loop(
    service: TaskService, clock: FrozenClock
) -> None:
    """A stored definition this process cannot fire (here a task with no type, as a hand edit or
    a version skew could leave it; a zone this machine lacks raises alike) is logged and put aside
    for a moment; the good schedule behind it fires, and the loop's other steps go on."""
    corrupt = ScheduleDefinition(name="a-corrupt", cron=None, every=30, timezone="UTC", task={"queue": "reports"})
    await service.backend.put_schedule(corrupt)  # past the API's checks, as a stored record
    await service.put_schedule(body("b-good"))
    (delayed,) = await service.backend.submit([spec(clock, delay=10)])
    clock.advance(60)  # both due, the corrupt one first (START + 30)
    scheduler = Scheduler(service.backend, clock)

    report = await scheduler.run_once()

    assert (report.fired, report.forwarded) == (1, 1)
    (task,) = (await service.list_tasks(TaskFilter(queue="reports"), limit=10, cursor=None)).tasks
    assert task.unique_key == "b-good:2027-01-15T08:01:00.000Z"
    assert (await service.backend.get(delayed.task.id)).state is TaskState.PENDING  # type: ignore[union-attr]
    # Put aside, not tried again at once: the loop sleeps until its retry instead of spinning.
    assert (await scheduler.run_once()).fired == 0
    assert await service.backend.next_schedule_at() == START + 30
    assert scheduler._schedules_wake(START + 30) == START + 60 + SCHEDULES_RETRY_S
    clock.advance(SCHEDULES_RETRY_S)
    assert (await scheduler.run_once()).fired == 0  # tried again (and failed again), the loop still up


async def test_schedule_events_carry_the_task_as_a_summary_whatever_its_payload(
    service: TaskService, clock: FrozenClock
) -> None:
    big = {"blob": "x" * 200_000}
    cursor = await service.event_cursor()
    await service.put_schedule(
        body(task={"type": "report", "payload": big, "queue": "reports", "metadata": {"m": "y" * 50_000}})
    )
    await service.put_schedule(body(task={"type": "report", "payload": big, "queue": "reports", "priority": "high"}))
    clock.advance(60)
    assert await ScheduleFirer(service.backend, clock).run_once() == 1
    await service.pause_schedule("every-minute")
    await service.resume_schedule("every-minute")
    await service.delete_schedule("every-minute")

    events = [e for e in await drain(service, cursor) if e.schedule is not None]
    assert [e.name.value.removeprefix("schedule.") for e in events] == [
        "created", "updated", "fired", "paused", "resumed", "deleted"
    ]  # fmt: skip
    for event in events:
        assert event.schedule is not None
        assert event.schedule.definition.task == {
            "type": "report",
            "queue": "reports",
            "priority": 2 if event.name != EventName.SCHEDULE_CREATED else 1,
        }
        assert len(orjson.dumps(event_json(event))) < 2000, event.name
    (fired,) = [e for e in events if e.name == EventName.SCHEDULE_FIRED]
    assert fired.task is not None
    assert fired.task.payload == {}
    # What the store keeps per event is small too, not only what a reader is handed.
    raw = getattr(service.backend, "_ctx", None)
    if raw is not None:  # Redis: the schedules' stream itself
        entries = await raw.client.xrange(raw.keys.schedule_events)
        assert len(entries) == 6
        assert all(sum(len(k) + len(v) for k, v in fields.items()) < 2000 for _, fields in entries)


async def test_declaring_an_unchanged_schedule_again_keeps_its_overdue_tick(
    service: TaskService, clock: FrozenClock
) -> None:
    await service.put_schedule(body(timezone="Europe/Berlin"))
    clock.advance(10 * 60)  # overdue since START + 60: every server was down

    again, is_new = await service.put_schedule(body(timezone="Europe/Berlin"))  # a deploy script's re-run

    assert not is_new
    assert again.next_run_at == START + 60
    assert await ScheduleFirer(service.backend, clock).run_once() == 1
    (task,) = (await service.list_tasks(TaskFilter(queue="reports"), limit=10, cursor=None)).tasks
    assert task.unique_key == "every-minute:2027-01-15T08:10:00.000Z"  # the latest tick, once
    # A changed timing is a new schedule of ticks: its next run counts from now.
    changed, _ = await service.put_schedule(body(every=120, timezone="Europe/Berlin"))
    assert changed.next_run_at == START + 12 * 60


@pytest.mark.parametrize("change", ["pause", "delete", "replace"])
async def test_a_change_between_reading_a_due_schedule_and_firing_it_leaves_no_unaccounted_task(
    service: TaskService, clock: FrozenClock, change: str
) -> None:
    """The firing step's parts in order, with the API's change between the read and the
    submit: the task the late submit created is cancelled, not left pending unannounced."""
    await service.put_schedule(body())
    clock.advance(60)
    (read,) = await service.backend.due_schedules(limit=10)  # the scheduler reads it due
    clock.advance(0.5)
    if change == "pause":
        await service.pause_schedule("every-minute")
    elif change == "delete":
        await service.delete_schedule("every-minute")
    else:
        await service.put_schedule(body(every=120))  # a new timing: its next run counts from now

    assert not await ScheduleFirer(service.backend, clock).fire(read)  # submit, advance (lost), check

    (task,) = (await service.list_tasks(TaskFilter(queue="reports"), limit=10, cursor=None)).tasks
    assert task.state is TaskState.CANCELLED


async def test_a_tick_another_scheduler_announced_is_not_cancelled_by_the_one_that_lost(
    service: TaskService, clock: FrozenClock
) -> None:
    await service.put_schedule(body())
    clock.advance(60)
    (read,) = await service.backend.due_schedules(limit=10)
    first = ScheduleFirer(service.backend, clock)
    assert await first.fire(read)
    clock.advance(0.5)
    await service.pause_schedule("every-minute")  # after the winner's advance

    assert not await ScheduleFirer(service.backend, clock).fire(read)

    (task,) = (await service.list_tasks(TaskFilter(queue="reports"), limit=10, cursor=None)).tasks
    assert task.state is TaskState.PENDING
