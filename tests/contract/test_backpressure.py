"""max_queue_size (SPEC §4): refusal is whole, and the server's own requeues are never refused."""

import asyncio

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.states import TaskState
from taskline.errors import QueueFull
from tests.helpers.seed import in_state, lease_one, spec, submit


@pytest.fixture
def engine_config() -> EngineConfig:
    return EngineConfig(max_queue_size=3)


async def test_a_full_queue_refuses_a_submit(backend: Backend, clock: FrozenClock) -> None:
    await backend.submit([spec(clock), spec(clock, delay=10), spec(clock)])

    with pytest.raises(QueueFull) as refused:
        await submit(backend, clock)

    assert refused.value.retry_after_s >= 1
    assert (await backend.counts())[TaskState.PENDING] == 2


async def test_a_batch_that_does_not_fit_stores_nothing(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, queue="a")

    with pytest.raises(QueueFull):
        await backend.submit([spec(clock, queue="b")] + [spec(clock, queue="a")] * 3)

    counts = await backend.counts()
    assert sum(counts.values()) == 1
    assert [q.name for q in await backend.queue_stats() if q.queued] == ["a"]


async def test_concurrent_submits_to_a_filling_queue_store_exactly_what_fits(
    backend: Backend, clock: FrozenClock
) -> None:
    outcomes = await asyncio.gather(*(backend.submit([spec(clock)]) for _ in range(5)), return_exceptions=True)

    stored = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(stored) == 3
    assert all(isinstance(o, QueueFull) for o in outcomes if isinstance(o, BaseException))
    assert (await backend.counts())[TaskState.PENDING] == 3


async def test_other_queues_are_not_affected(backend: Backend, clock: FrozenClock) -> None:
    await backend.submit([spec(clock, queue="full")] * 3)

    (other,) = await backend.submit([spec(clock, queue="other")])

    assert other.created


async def test_running_and_finished_tasks_do_not_count(backend: Backend, clock: FrozenClock) -> None:
    await in_state(backend, clock, TaskState.RUNNING)
    await in_state(backend, clock, TaskState.COMPLETED)
    await in_state(backend, clock, TaskState.FAILED)

    results = await backend.submit([spec(clock)] * 3)

    assert all(r.created for r in results)


async def test_manual_retry_and_lease_expiry_are_never_refused(backend: Backend, clock: FrozenClock) -> None:
    failed = await in_state(backend, clock, TaskState.FAILED)
    running = await submit(backend, clock, type="slow")
    await lease_one(backend, running)
    await backend.submit([spec(clock)] * 3)

    retried = await backend.retry(failed.id)
    clock.advance(31)
    recovered = await backend.recover_expired()

    assert retried.state is TaskState.PENDING
    assert recovered == 1
    assert (await backend.counts())[TaskState.RETRYING] == 1
