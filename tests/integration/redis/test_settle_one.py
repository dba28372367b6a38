"""`complete` and `fail` on Redis are a settle of one outcome: one copy of the read, the
backoff draw and the retry of a read the task outran."""

from dataclasses import replace
from typing import Any

import pytest

from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.settling import STALE_READ_RETRIES
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from taskline.core.task import Task
from taskline.errors import LeaseLost
from tests.helpers.seed import lease_one, submit


def record_scripts(backend: RedisBackend) -> list[str]:
    names: list[str] = []
    run = backend._scripts.run

    async def recording_run(name: str, keys: list[str], args: list[Any], **options: Any) -> Any:
        names.append(name)
        return await run(name, keys, args, **options)

    backend._scripts.run = recording_run  # type: ignore[method-assign]
    return names


def read_stale(backend: RedisBackend, times: int) -> None:
    """The settler's next `times` reads see each task one attempt behind, as if it ran again
    between the read and the script."""
    read = backend._settler._read
    left = [times]

    async def stale_read(task_ids: list[str]) -> dict[str, Task | None]:
        found = await read(task_ids)
        if left[0] == 0:
            return found
        left[0] -= 1
        return {i: None if t is None else replace(t, attempts=t.attempts - 1) for i, t in found.items()}

    backend._settler._read = stale_read  # type: ignore[method-assign]


async def test_complete_and_fail_run_the_settle_script(redis_backend: RedisBackend, clock: FrozenClock) -> None:
    done, failed = [await submit(redis_backend, clock, type=t, queue="settle-one") for t in ("done", "failed")]
    done_lease, failed_lease = await lease_one(redis_backend, done), await lease_one(redis_backend, failed)
    names = record_scripts(redis_backend)

    completed = await redis_backend.complete(done.id, done_lease.token, result={"ok": True})
    ended = await redis_backend.fail(failed.id, failed_lease.token, error="boom", retry_after_s=60)

    assert (completed.state, completed.result) == (TaskState.COMPLETED, {"ok": True})
    assert (ended.state, ended.error) == (TaskState.RETRYING, "boom")
    assert ended.due_at == pytest.approx(clock.now() + 60, abs=0.002)
    assert names == ["settle", "settle"]


async def test_a_fail_read_again_after_a_stale_read_and_refused_once_it_keeps_changing(
    redis_backend: RedisBackend, clock: FrozenClock
) -> None:
    first, second = [await submit(redis_backend, clock, type=t, queue="settle-stale") for t in ("a", "b")]
    first_lease, second_lease = await lease_one(redis_backend, first), await lease_one(redis_backend, second)
    names = record_scripts(redis_backend)

    read_stale(redis_backend, 1)
    ended = await redis_backend.fail(first.id, first_lease.token, error="boom", retry=False)
    read_stale(redis_backend, STALE_READ_RETRIES)
    with pytest.raises(LeaseLost, match="kept changing"):
        await redis_backend.fail(second.id, second_lease.token, error="boom")

    assert ended.state is TaskState.FAILED
    assert names == ["settle"] * (2 + STALE_READ_RETRIES)
    still = await redis_backend.get(second.id)
    assert still is not None
    assert still.state is TaskState.RUNNING
