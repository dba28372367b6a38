"""Several backends on one Redis, as several API instances would be: caches that go stale
(queues, types, where a task lives) are refreshed, and wake-ups cross processes by pub/sub."""

import asyncio
from collections.abc import AsyncIterator

import ormsgpack
import pytest

from taskline.backends.redis import inspect
from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.codec import RECORD_FIELDS
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.states import TaskState
from taskline.core.task import TaskFilter
from tests.helpers.seed import spec, submit


@pytest.fixture
async def other(redis_url: str, clock: FrozenClock, engine_config: EngineConfig) -> AsyncIterator[RedisBackend]:
    backend = await RedisBackend.connect(redis_url, config=engine_config, clock=clock)
    try:
        yield backend
    finally:
        await backend.close()


async def test_a_submit_in_one_process_wakes_a_watcher_in_another(
    redis_backend: RedisBackend, other: RedisBackend, clock: FrozenClock
) -> None:
    with redis_backend.watch(["mail"]) as signal:
        await submit(other, clock, queue="mail")

        assert await signal.wait(5)


async def test_a_scheduled_submit_elsewhere_ends_a_timer_wait(
    redis_backend: RedisBackend, other: RedisBackend, clock: FrozenClock
) -> None:
    await submit(other, clock, delay=5)

    await asyncio.wait_for(redis_backend.wait_timers(60), timeout=5)  # ended by the pub/sub message
    assert await redis_backend.next_timer() == pytest.approx(clock.now() + 5)


async def test_queues_and_types_created_elsewhere_are_leased(
    redis_backend: RedisBackend, other: RedisBackend, clock: FrozenClock
) -> None:
    await submit(redis_backend, clock, "a", queue="one")
    assert len(await redis_backend.lease(worker_id="w")) == 1  # caches now hold queue one, type a

    await submit(other, clock, "b", queue="one")
    await submit(other, clock, "c", queue="two")

    leased = await redis_backend.lease(worker_id="w", max=5)
    leased += await redis_backend.lease(worker_id="w", max=5)
    assert sorted(x.task.type for x in leased) == ["b", "c"]


async def test_a_task_made_elsewhere_is_found_by_id(
    redis_backend: RedisBackend, other: RedisBackend, clock: FrozenClock
) -> None:
    await submit(redis_backend, clock, queue="known")
    task = await submit(other, clock, queue="new-elsewhere")

    assert await redis_backend.get(task.id) == task
    assert (await redis_backend.cancel(task.id)).state is TaskState.CANCELLED


async def test_a_sparse_filter_pages_through_a_long_log(
    redis_backend: RedisBackend, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inspect, "LOG_SCAN", 10)
    rare = []
    for i in range(45):
        (r,) = await redis_backend.submit([spec(clock, "rare" if i % 15 == 0 else "common")])
        if r.task.type == "rare":
            rare.append(r.task.id)

    found, cursor, pages = [], None, 0
    while True:
        page = await redis_backend.list_tasks(TaskFilter(type="rare"), limit=2, cursor=cursor)
        found += [t.id for t in page.tasks]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert found == rare[::-1]
    assert pages > 2  # some pages came back short: the scan is bounded per call


async def test_records_hold_only_what_differs_from_the_defaults(
    redis_backend: RedisBackend, clock: FrozenClock
) -> None:
    task = await submit(redis_backend, clock, payload={"n": 1})

    raw = await redis_backend._client.hget(redis_backend._keys.queue("default").tasks, task.id)

    values = ormsgpack.unpackb(raw)
    assert RECORD_FIELDS[: len(values)] == (
        "type", "state", "priority", "timeout_ms", "created_ms", "updated_ms", "due_ms", "payload",
    )  # fmt: skip
    assert len(raw) <= 32  # no field names, times after created_ms: a small task stays small
