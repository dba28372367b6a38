"""Time-driven moves: due tasks forwarded, expired leases recovered, and the timers and
wake-ups that let the scheduler and long polls wait instead of polling."""

import asyncio

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from tests.helpers.seed import lease_one, spec, submit

T = pytest.approx


async def test_a_scheduled_task_becomes_pending_when_due(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, delay=10)
    clock.advance(9.9)
    assert await backend.forward_due() == 0

    clock.advance(0.1)
    assert await backend.forward_due() == 1

    (lease,) = await backend.lease(worker_id="w")
    assert lease.task.id == task.id


async def test_a_retrying_task_becomes_pending_when_due(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    await backend.fail(task.id, lease.token, error="x", retry_after_s=5)
    assert await backend.lease(worker_id="w") == []

    clock.advance(5)
    assert await backend.forward_due() == 1

    stored = await backend.get(task.id)
    assert stored is not None
    assert stored.state is TaskState.PENDING


async def test_forwarded_tasks_keep_fifo_by_due_time(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, delay=20, payload={"name": "later"})
    await submit(backend, clock, delay=10, payload={"name": "sooner"})
    clock.advance(30)
    await submit(backend, clock, payload={"name": "now"})
    await backend.forward_due()

    leases = await backend.lease(worker_id="w", max=3)

    assert [x.task.payload["name"] for x in leases] == ["sooner", "later", "now"]


async def test_an_expired_lease_is_a_failed_attempt(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, max_retries=3)
    await lease_one(backend, task)
    clock.advance(29.9)
    assert await backend.recover_expired() == 0

    clock.advance(0.2)
    assert await backend.recover_expired() == 1

    stored = await backend.get(task.id)
    assert stored is not None
    assert stored.state is TaskState.RETRYING
    assert stored.error == "lease expired"
    assert [(e.attempt, e.error) for e in stored.errors] == [(1, "lease expired")]


async def test_an_attempt_past_its_timeout_fails_with_timeout(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, timeout=5)
    lease = await lease_one(backend, task)
    clock.advance(4)
    await backend.heartbeat(task.id, lease.token)
    clock.advance(1)

    assert await backend.recover_expired() == 1

    stored = await backend.get(task.id)
    assert stored is not None
    assert stored.error == "timeout"


async def test_expiry_after_the_last_retry_goes_to_the_dlq(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, max_retries=1)
    for _ in range(2):
        await lease_one(backend, task)
        clock.advance(31)
        await backend.recover_expired()
        clock.advance(3600)
        await backend.forward_due()

    stored = await backend.get(task.id)
    assert stored is not None
    assert stored.state is TaskState.FAILED
    assert stored.attempts == 2
    (dead,) = (await backend.dlq_list(limit=10)).tasks
    assert dead.id == task.id


async def test_next_timer_is_the_earliest_due_time_or_lease_end(backend: Backend, clock: FrozenClock) -> None:
    assert await backend.next_timer() is None
    await submit(backend, clock, delay=100)
    assert await backend.next_timer() == T(clock.now() + 100, abs=0.002)

    running = await submit(backend, clock, type="run")
    await lease_one(backend, running)
    assert await backend.next_timer() == T(clock.now() + 30, abs=0.002)


async def test_a_watcher_is_woken_by_a_submit(backend: Backend, clock: FrozenClock) -> None:
    with backend.watch(["mail"]) as signal:
        await submit(backend, clock, queue="mail")

        assert await signal.wait(5)


async def test_a_watcher_is_woken_when_a_due_task_is_forwarded(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, delay=1)
    with backend.watch(None) as signal:
        clock.advance(1)
        await backend.forward_due()

        assert await signal.wait(5)


async def test_the_timer_wait_ends_early_when_a_sooner_task_is_scheduled(backend: Backend, clock: FrozenClock) -> None:
    waiting = asyncio.create_task(backend.wait_timers(60))

    await backend.submit([spec(clock, delay=0.5)])

    await asyncio.wait_for(waiting, timeout=5)
