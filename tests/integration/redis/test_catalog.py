"""The catalog's caches of queues and types go stale by at most `REFRESH_S`: a queue or type
another process added (another API instance, a worker on Redis) is seen within that, so a lease
that still finds work in the queues it knew does not pass over the new one until those run dry."""

from redis.asyncio import Redis

from taskline.backends.redis.catalog import REFRESH_S, Catalog
from taskline.backends.redis.keys import KeySpace


async def test_a_queue_and_a_type_added_elsewhere_are_seen_once_the_cache_is_refresh_s_old(redis_url: str) -> None:
    keys = KeySpace()
    now = [1000.0]
    ours, theirs = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        mine, other = Catalog(ours, keys, now=lambda: now[0]), Catalog(theirs, keys)
        await mine.register({"old"})
        await ours.sadd(keys.queue("old").types, "a")
        assert await mine.queues() == ["old"]
        assert await mine.types(["old"]) == {"old": frozenset({"a"})}

        await other.register({"new"})  # another process's submit to a new queue, and a new type
        await theirs.sadd(keys.queue("old").types, "b")
        now[0] += REFRESH_S / 2
        assert await mine.queues() == ["old"]  # the cache serves reads within REFRESH_S
        assert await mine.types(["old"]) == {"old": frozenset({"a"})}

        now[0] += REFRESH_S / 2
        assert await mine.queues() == ["new", "old"]
        assert await mine.types(["old"]) == {"old": frozenset({"a", "b"})}
    finally:
        await ours.aclose()
        await theirs.aclose()
