"""After a manual retry the backoff starts again from the base delay (issue 14): it counts the
attempts since that retry, as max_retries does, not every attempt the task ever made."""

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.states import TaskState
from tests.helpers.backends import open_test_backend
from tests.helpers.seed import lease_one, submit

T = pytest.approx


class TopJitter(random.Random):
    """Every jitter draw at its top, so a backoff is exactly its ceiling, base × 2^(n−1)."""

    def random(self) -> float:
        return 1.0


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock, engine_config: EngineConfig
) -> AsyncIterator[Backend]:
    async for store in open_test_backend(request, tmp_path, clock, engine_config, rng=TopJitter()):
        yield store


async def _failed_twice(backend: Backend, clock: FrozenClock) -> str:
    """A task in the DLQ after two attempts (max_retries 1), then retried by hand."""
    task = await submit(backend, clock, max_retries=1)
    first = await lease_one(backend, task)
    assert (await backend.fail(task.id, first.token, error="a")).due_at == T(clock.now() + 1, abs=0.002)
    clock.advance(1)
    await backend.forward_due()
    second = await lease_one(backend, task)
    assert (await backend.fail(task.id, second.token, error="b")).state is TaskState.FAILED
    await backend.retry(task.id)
    return task.id


async def test_a_failure_after_a_manual_retry_backs_off_from_the_base(backend: Backend, clock: FrozenClock) -> None:
    task_id = await _failed_twice(backend, clock)
    stored = await backend.get(task_id)
    assert stored is not None
    third = await lease_one(backend, stored)

    failed = await backend.fail(task_id, third.token, error="c")

    assert third.task.attempts == 3  # attempts keep counting (SPEC §2) ...
    assert failed.state is TaskState.RETRYING
    assert failed.due_at == T(clock.now() + 1, abs=0.002)  # ... the backoff does not: 1 s, not 4 s


async def test_a_lease_expiry_after_a_manual_retry_backs_off_from_the_base(
    backend: Backend, clock: FrozenClock
) -> None:
    task_id = await _failed_twice(backend, clock)
    stored = await backend.get(task_id)
    assert stored is not None
    await lease_one(backend, stored)
    clock.advance(30)  # the default lease

    assert await backend.recover_expired() == 1

    recovered = await backend.get(task_id)
    assert recovered is not None
    assert recovered.state is TaskState.RETRYING
    assert recovered.due_at == T(clock.now() + 1, abs=0.002)
