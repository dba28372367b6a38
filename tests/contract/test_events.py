"""The event log (SPEC §3 /ws): every change is announced by the step that makes it, in
order, and a reader can resume after an event id."""

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.workers import WorkerDetails
from taskline.events.types import Event, EventCursor, EventName, position
from tests.helpers.seed import lease_one, submit

E = EventName


async def drain(backend: Backend, cursor: EventCursor) -> list[Event]:
    """Every event after the cursor that is there now."""
    events: list[Event] = []
    while batch := await backend.read_events(cursor, wait_s=0):
        events += batch
    return events


def names(events: list[Event], task_id: str | None = None) -> list[str]:
    return [e.name.value for e in events if task_id is None or (e.task is not None and e.task.id == task_id)]


async def test_a_task_life_is_announced_in_order(backend: Backend, clock: FrozenClock) -> None:
    cursor = await backend.event_cursor()
    task = await submit(backend, clock, payload={"secret": 1}, metadata={"m": 1})
    lease = await lease_one(backend, task)
    await backend.heartbeat(task.id, lease.token)  # no progress: no event
    await backend.heartbeat(task.id, lease.token, progress=40)
    clock.advance(2)
    await backend.complete(task.id, lease.token, result={"r": 1})

    events = await drain(backend, cursor)

    assert names(events) == ["task.created", "task.started", "task.progress", "task.completed"]
    assert [position(e.id) for e in events] == sorted(position(e.id) for e in events)
    progress, done = events[2], events[3]
    assert progress.task is not None
    assert progress.task.progress == 40
    assert done.task is not None
    assert done.task.state.value == "completed"
    assert done.ts == pytest.approx(clock.now(), abs=0.002)
    # An event carries no user data and no fencing token.
    assert done.task.payload == {}
    assert done.task.result is None
    assert done.task.metadata == {}
    assert done.task.lease_token is None


async def test_failures_cancels_and_requeues_are_announced(backend: Backend, clock: FrozenClock) -> None:
    cursor = await backend.event_cursor()
    task = await submit(backend, clock, max_retries=1)
    lease = await lease_one(backend, task)
    await backend.fail(task.id, lease.token, error="boom", retry_after_s=1)
    clock.advance(2)
    await backend.forward_due()
    lease = await lease_one(backend, task)
    await backend.fail(task.id, lease.token, error="boom again")
    await backend.retry(task.id)
    await backend.cancel(task.id)
    other = await submit(backend, clock, type="other")
    await backend.purge(other.queue)

    events = await drain(backend, cursor)

    assert names(events, task.id) == [
        "task.created", "task.started", "task.retrying", "task.pending", "task.started", "task.failed",
        "task.pending", "task.cancelled",
    ]  # fmt: skip
    assert names(events, other.id) == ["task.created", "task.deleted"]


async def test_an_expired_lease_is_announced(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, max_retries=0)
    await lease_one(backend, task)
    cursor = await backend.event_cursor()
    clock.advance(31)
    assert await backend.recover_expired() == 1

    (event,) = await drain(backend, cursor)

    assert event.name is E.TASK_FAILED
    assert event.task is not None
    assert event.task.error == "lease expired"


async def test_worker_changes_are_announced(backend: Backend, clock: FrozenClock) -> None:
    cursor = await backend.event_cursor()
    await backend.register_worker("w-1", WorkerDetails(host="h", pid=1))
    await backend.register_worker("w-1", WorkerDetails(active=2))  # a sighting: no event
    await backend.set_worker_paused("w-1", True)
    await backend.set_worker_paused("w-1", True)  # no change: no event
    await backend.set_worker_paused("w-1", False)
    clock.advance(61)
    assert await backend.depart_workers(seen_before=clock.now() - 60) == 1
    assert await backend.depart_workers(seen_before=clock.now() - 60) == 0  # once
    await backend.register_worker("w-1", WorkerDetails())  # back again
    await backend.forget_worker("w-1")

    events = await drain(backend, cursor)

    assert [e.name.value for e in events] == [
        "worker.joined", "worker.paused", "worker.resumed", "worker.left", "worker.joined", "worker.left",
    ]  # fmt: skip
    assert all(e.worker is not None and e.worker.id == "w-1" for e in events)
    assert events[0].worker is not None
    assert events[0].worker.host == "h"
    assert events[1].worker is not None
    assert events[1].worker.paused


async def test_a_reader_resumes_after_an_event_id(backend: Backend, clock: FrozenClock) -> None:
    cursor = await backend.event_cursor()
    first = await submit(backend, clock)
    second = await submit(backend, clock, queue="elsewhere")
    events = await drain(backend, cursor)
    created_first = next(e for e in events if e.task is not None and e.task.id == first.id)

    resumed = await drain(backend, await backend.event_cursor(created_first.id))

    ids = [e.task.id for e in resumed if e.task is not None]
    assert first.id not in ids
    assert second.id in ids


async def test_a_queue_cursor_sees_only_its_queue(backend: Backend, clock: FrozenClock) -> None:
    cursor = await backend.event_cursor(queue="mine")
    mine = await submit(backend, clock, queue="mine")
    await submit(backend, clock, queue="theirs")
    await backend.register_worker("w-2", WorkerDetails())

    events = await drain(backend, cursor)

    assert [(e.name, e.task.id if e.task else None) for e in events] == [(E.TASK_CREATED, mine.id)]


async def test_a_reader_waits_for_the_next_event(backend: Backend, clock: FrozenClock) -> None:
    import asyncio

    cursor = await backend.event_cursor()
    reading = asyncio.create_task(backend.read_events(cursor, wait_s=5))
    await asyncio.sleep(0)
    task = await submit(backend, clock)

    events = await reading

    assert names(events, task.id) == ["task.created"]


async def test_an_id_that_is_not_one_is_refused(backend: Backend) -> None:
    with pytest.raises(ValueError, match="not an event id"):
        await backend.event_cursor("yesterday")
