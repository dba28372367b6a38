"""Walk SPEC §2 state by state: each operation from each state does what the table in
core.states allows, and is refused, changing nothing, where it does not."""

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.states import CANCELLABLE, RETRYABLE, TRANSITIONS, TaskState
from taskline.errors import InvalidTransition, LeaseLost
from tests.helpers.seed import in_state

ALL = list(TaskState)


@pytest.mark.parametrize("state", ALL)
async def test_cancel_from_each_state(backend: Backend, clock: FrozenClock, state: TaskState) -> None:
    task = await in_state(backend, clock, state)
    if state in CANCELLABLE:
        assert TaskState.CANCELLED in TRANSITIONS[state]
        assert (await backend.cancel(task.id)).state is TaskState.CANCELLED
    elif state is TaskState.RUNNING:
        assert (await backend.cancel(task.id)).cancel_requested
    else:
        with pytest.raises(InvalidTransition):
            await backend.cancel(task.id)
        assert await backend.get(task.id) == task


@pytest.mark.parametrize("state", ALL)
async def test_retry_from_each_state(backend: Backend, clock: FrozenClock, state: TaskState) -> None:
    task = await in_state(backend, clock, state)
    if state in RETRYABLE:
        assert TaskState.PENDING in TRANSITIONS[state]
        assert (await backend.retry(task.id)).state is TaskState.PENDING
    else:
        with pytest.raises(InvalidTransition):
            await backend.retry(task.id)
        assert await backend.get(task.id) == task


@pytest.mark.parametrize("state", ALL)
async def test_lease_takes_only_pending_tasks(backend: Backend, clock: FrozenClock, state: TaskState) -> None:
    task = await in_state(backend, clock, state)

    leases = await backend.lease(worker_id="other", types=[task.type])

    assert [x.task.id for x in leases] == ([task.id] if state is TaskState.PENDING else [])


@pytest.mark.parametrize("state", [s for s in ALL if s is not TaskState.RUNNING])
async def test_results_need_a_running_attempt(backend: Backend, clock: FrozenClock, state: TaskState) -> None:
    task = await in_state(backend, clock, state)

    for report in (
        backend.complete(task.id, "some-token"),
        backend.fail(task.id, "some-token", error="x"),
        backend.heartbeat(task.id, "some-token"),
    ):
        with pytest.raises(LeaseLost):
            await report

    assert await backend.get(task.id) == task
