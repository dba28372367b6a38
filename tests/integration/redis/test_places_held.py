"""On the Redis backend, the table of where tasks live holds the tasks in flight and a fixed
number of others: a completed, failed or released task is forgotten by the process that leased
it, so steady work through one process does not fill the table (bench/soak found it filling to
100,000 ids, ~30 MB, over the first 20 minutes of 100 tasks/s)."""

from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.catalog import Places
from taskline.core.clock import FrozenClock
from tests.helpers.seed import lease_one, submit


async def test_settled_and_released_tasks_leave_the_table(redis_backend: RedisBackend, clock: FrozenClock) -> None:
    places = redis_backend._catalog._places
    done, failed, released = [await submit(redis_backend, clock, type=t, queue="held") for t in ("a", "b", "c")]
    leases = [await lease_one(redis_backend, task) for task in (done, failed, released)]
    in_flight = len(places)

    await redis_backend.complete(done.id, leases[0].token)
    await redis_backend.fail(failed.id, leases[1].token, error="boom", retry_after_s=60)
    await redis_backend.release(released.id, leases[2].token)

    assert in_flight == 3
    assert len(places) == 0


def small_places(backend: RedisBackend, recent: int) -> Places:
    """Give the backend's catalog a table with a small bound for recent ids."""
    places = Places(recent=recent)
    backend._catalog._places = places
    backend._catalog.settled = places.settled
    backend._catalog.place_of = places.place_of
    return places


async def test_a_long_task_is_still_found_after_many_others_pass(
    redis_backend: RedisBackend, clock: FrozenClock
) -> None:
    places = small_places(redis_backend, recent=5)
    long = await submit(redis_backend, clock, type="long", queue="held-long")
    lease = await lease_one(redis_backend, long)
    for _ in range(20):  # work that comes and goes while the long task runs, and work still waiting
        await submit(redis_backend, clock, type="waiting", queue="held-long")
        task = await submit(redis_backend, clock, type="short", queue="held-long")
        await redis_backend.complete(task.id, (await lease_one(redis_backend, task)).token)

    assert places.place_of(long.id) == ("held-long", "long")  # its outcome needs no search
    completed = await redis_backend.complete(long.id, lease.token)
    assert completed.state == "completed"
    assert len(places) <= 5  # within the recent table's bound; nothing in flight
