"""A bulk spanning queues where one queue's part is only a unique-key hit (found by
tests/differential after the staged bulk landed): that part reserves no room, and giving back
"-0" was refused by HINCRBY, so Redis answered internal_error where SQLite stores the other
queue's task and returns the hit."""

from taskline.backends.redis.backend import RedisBackend
from taskline.core.clock import FrozenClock
from tests.helpers.seed import spec


async def test_a_bulk_whose_part_in_one_queue_is_only_a_unique_hit(redis_url: str) -> None:
    clock = FrozenClock()
    backend = await RedisBackend.connect(redis_url, clock=clock, wake_ups=False)
    try:
        (first,) = await backend.submit([spec(clock, "a", queue="q2", unique_key="u2")])
        hit, new = await backend.submit([spec(clock, "a", queue="q2", unique_key="u2"), spec(clock, "a", queue="q1")])
    finally:
        await backend.close()

    assert (hit.task.id, hit.created) == (first.task.id, False)
    assert new.created
