"""The Redis event streams: trimmed to about EVENTS_KEPT entries, and a resume from before
the trim point is told it lost events."""

import pytest

from taskline.backends.redis.backend import RedisBackend
from taskline.core.clock import FrozenClock
from taskline.events.types import EVENTS_KEPT, EventsLost
from tests.helpers.seed import spec


async def test_a_resume_from_before_the_trim_point_is_lost(redis_backend: RedisBackend, clock: FrozenClock) -> None:
    cursor = await redis_backend.event_cursor()
    await redis_backend.submit([spec(clock, queue="busy")])
    (first,) = await redis_backend.read_events(cursor, wait_s=0)
    for _ in range(EVENTS_KEPT // 1000 + 1):
        await redis_backend.submit([spec(clock, queue="busy") for _ in range(1000)])
    kept = await redis_backend._client.xlen(redis_backend._keys.queue("busy").events)
    assert EVENTS_KEPT <= kept < EVENTS_KEPT + 1000  # trimmed, approximately

    with pytest.raises(EventsLost):
        await redis_backend.event_cursor(first.id)
    with pytest.raises(EventsLost):  # a reader that fell behind the trimming is told so
        await redis_backend.read_events(cursor, wait_s=0, limit=1000)
    end = await redis_backend.event_cursor()
    await redis_backend.submit([spec(clock, queue="busy")])
    (recent,) = await redis_backend.read_events(end, wait_s=0)
    await redis_backend.event_cursor(recent.id)  # a recent id resumes


async def test_a_resume_after_an_id_of_another_queue_is_not_lost(
    redis_backend: RedisBackend, clock: FrozenClock
) -> None:
    cursor = await redis_backend.event_cursor()
    await redis_backend.submit([spec(clock, queue="a")])
    (event,) = await redis_backend.read_events(cursor, wait_s=0)
    await redis_backend.submit([spec(clock, queue="b")])

    resumed = await redis_backend.read_events(await redis_backend.event_cursor(event.id), wait_s=0)

    assert [e.queue for e in resumed] == ["b"]


async def test_a_big_task_is_logged_without_its_user_data(redis_backend: RedisBackend, clock: FrozenClock) -> None:
    cursor = await redis_backend.event_cursor()
    (submitted,) = await redis_backend.submit([spec(clock, queue="big", payload={"blob": "x" * 100_000})])

    entries = await redis_backend._client.xrange(redis_backend._keys.queue("big").events)
    (event,) = await redis_backend.read_events(cursor, wait_s=0)

    assert len(entries) == 1
    assert len(entries[0][1][b"b"]) < 2048
    assert event.task is not None
    assert (event.task.id, event.task.payload) == (submitted.task.id, {})


async def test_a_cancelled_reader_stops_while_others_write(redis_backend: RedisBackend, clock: FrozenClock) -> None:
    # redis-py can lose a cancellation that lands as a blocking read completes; a reader in a
    # loop (the hub, events()) must stop all the same. Writes beside it make the race likely.
    import asyncio

    async def write_on() -> None:
        while True:
            await redis_backend.submit([spec(clock, queue="busy")])

    async def read_on() -> None:
        cursor = await redis_backend.event_cursor()
        while True:
            await redis_backend.read_events(cursor, wait_s=1)

    writer = asyncio.create_task(write_on())
    try:
        for attempt in range(20):
            reader = asyncio.create_task(read_on())
            await asyncio.sleep(0.01 * attempt)  # land the cancel at different points of a read
            reader.cancel()
            done, _ = await asyncio.wait({reader}, timeout=5)
            assert done, f"the reader went on after its cancel (attempt {attempt})"
            assert reader.cancelled()
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
