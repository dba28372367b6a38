"""What every benchmark job does, for every peer: the one place "done" and "latency" are defined.

A drain job increments one Redis counter; a latency job pushes `now - enqueued` (seconds)
onto one Redis list. The runner watches the counter and reads the list, so "done" means
the same thing whichever queue ran the job. BullMQ's worker (bullmq/worker.mjs) writes
the same two keys.
"""

import os
import time

import redis
import redis.asyncio

URL_ENV = "BENCH_REDIS_URL"
DONE_KEY = "bench:done"
LATENCY_KEY = "bench:latency"

_sync_client: redis.Redis | None = None
_async_client: redis.asyncio.Redis | None = None


def redis_url() -> str:
    """The server under test, handed to every worker process in the environment."""
    return os.environ.get(URL_ENV, "redis://127.0.0.1:6379/0")


def record(enqueued_at: float | None = None) -> None:
    """The job body for thread- and process-based workers (created lazily: after any fork)."""
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(redis_url())
    if enqueued_at is None:
        _sync_client.incr(DONE_KEY)
    else:
        _sync_client.rpush(LATENCY_KEY, time.time() - enqueued_at)


async def arecord(enqueued_at: float | None = None) -> None:
    """The job body for asyncio workers: one client per worker process and its loop."""
    global _async_client
    if _async_client is None:
        _async_client = redis.asyncio.Redis.from_url(redis_url())
    if enqueued_at is None:
        await _async_client.incr(DONE_KEY)
    else:
        await _async_client.rpush(LATENCY_KEY, time.time() - enqueued_at)
