"""Cancellation and manual retry (SPEC §2), including cancel of a running task."""

import uuid

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from taskline.errors import InvalidTransition, NotFound
from tests.helpers.seed import in_state, lease_one, submit

T = pytest.approx


@pytest.mark.parametrize("state", [TaskState.PENDING, TaskState.SCHEDULED, TaskState.RETRYING])
async def test_cancel_of_a_waiting_task_ends_it(backend: Backend, clock: FrozenClock, state: TaskState) -> None:
    task = await in_state(backend, clock, state)

    cancelled = await backend.cancel(task.id)

    assert cancelled.state is TaskState.CANCELLED
    assert cancelled.completed_at == T(clock.now(), abs=0.002)
    assert await backend.lease(worker_id="w") == []
    clock.advance(3600)
    assert await backend.forward_due() == 0


@pytest.mark.parametrize("state", [TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED])
async def test_cancel_of_a_finished_task_is_refused(backend: Backend, clock: FrozenClock, state: TaskState) -> None:
    task = await in_state(backend, clock, state)

    with pytest.raises(InvalidTransition):
        await backend.cancel(task.id)

    assert await backend.get(task.id) == task


async def test_cancel_of_an_unknown_task_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound):
        await backend.cancel(str(uuid.uuid4()))


async def test_cancel_of_a_running_task_asks_the_worker(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)

    asked = await backend.cancel(task.id)
    ack = await backend.heartbeat(task.id, lease.token)

    assert (asked.state, asked.cancel_requested) == (TaskState.RUNNING, True)
    assert ack.cancel_requested is True


async def test_a_cancel_requested_attempt_that_fails_ends_cancelled(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, max_retries=5)
    lease = await lease_one(backend, task)
    await backend.cancel(task.id)

    ended = await backend.fail(task.id, lease.token, error="stopped")

    assert ended.state is TaskState.CANCELLED


async def test_a_cancel_requested_attempt_that_completes_completes(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    await backend.cancel(task.id)

    ended = await backend.complete(task.id, lease.token, result="done anyway")

    assert ended.state is TaskState.COMPLETED


async def test_a_cancel_requested_attempt_whose_lease_expires_ends_cancelled(
    backend: Backend, clock: FrozenClock
) -> None:
    task = await submit(backend, clock, max_retries=5)
    await lease_one(backend, task)
    await backend.cancel(task.id)
    clock.advance(31)

    assert await backend.recover_expired() == 1

    ended = await backend.get(task.id)
    assert ended is not None
    assert ended.state is TaskState.CANCELLED


@pytest.mark.parametrize("state", [TaskState.FAILED, TaskState.CANCELLED])
async def test_retry_puts_a_finished_task_back(backend: Backend, clock: FrozenClock, state: TaskState) -> None:
    task = await in_state(backend, clock, state)

    retried = await backend.retry(task.id)

    assert retried.state is TaskState.PENDING
    assert retried.attempts == task.attempts
    assert retried.completed_at is None
    (lease,) = await backend.lease(worker_id="w")
    assert lease.task.id == task.id
    assert lease.task.attempts == task.attempts + 1


@pytest.mark.parametrize("state", [TaskState.PENDING, TaskState.SCHEDULED, TaskState.RUNNING, TaskState.COMPLETED])
async def test_retry_of_a_task_that_is_not_finished_or_completed_is_refused(
    backend: Backend, clock: FrozenClock, state: TaskState
) -> None:
    task = await in_state(backend, clock, state)

    with pytest.raises(InvalidTransition):
        await backend.retry(task.id)


async def test_retry_can_replace_the_payload(backend: Backend, clock: FrozenClock) -> None:
    task = await in_state(backend, clock, TaskState.FAILED, payload={"v": 1})

    retried = await backend.retry(task.id, payload={"v": 2})

    assert retried.payload == {"v": 2}
    stored = await backend.get(task.id)
    assert stored is not None
    assert stored.payload == {"v": 2}


async def test_retry_counts_max_retries_afresh(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, max_retries=1)
    first = await lease_one(backend, task)
    await backend.fail(task.id, first.token, error="a", retry_after_s=0)
    await backend.forward_due()
    second = await lease_one(backend, task)
    assert (await backend.fail(task.id, second.token, error="b")).state is TaskState.FAILED

    await backend.retry(task.id)
    third = await lease_one(backend, task)
    after_retry = await backend.fail(task.id, third.token, error="c")

    assert third.task.attempts == 3
    assert after_retry.state is TaskState.RETRYING
