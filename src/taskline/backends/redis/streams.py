"""XREAD over many streams, on a standalone Redis or a Redis Cluster.

Standalone, one XREAD names every stream and blocks until any has news. A cluster refuses a
command whose keys lie in different slots (each queue's stream is in its queue's slot), so
there each stream is read on its own: first all at once without blocking (a busy log answers
here, in one concurrent round), and only when none has news, one blocking XREAD per stream,
concurrently; the first to answer with entries ends the wait and the others are cancelled
(redis-py drops a connection cancelled mid-reply, so none is left out of step). A stream on a
shard that is down is skipped (its cursor does not move, so its events come once it is back);
only when every stream fails does the read fail.

The blocking reads run under the cluster client's `waiting` allowance (connecting.py), never
the permits of API calls; past `MAX_BLOCKING_STREAMS` (more than that allowance would hold) a
reader polls instead, every `POLL_S` while events flow and less often the longer the log stays
quiet, up to every `MAX_POLL_S` (`Poll`), so an idle reader of a thousand queues does not send
a thousand XREADs ten times a second.
"""

import asyncio
import contextlib
from typing import Any

from redis.asyncio.cluster import RedisCluster

from taskline.backends.redis.connecting import WAITING_READS, AnyRedis

MAX_BLOCKING_STREAMS = WAITING_READS
"""Streams a cluster reader blocks on at once (a connection each; fewer when the client's
`waiting` allowance is smaller); past it, it polls."""
POLL_S = 0.1
"""How soon a cluster reader of more streams than that looks again after news."""
MAX_POLL_S = 1.0
"""How long it waits between looks at most, once the log has been quiet a while."""

Reply = list[tuple[Any, list[Any]]]


class Poll:
    """The pause between a polling reader's looks: `POLL_S` after news, doubling with each look
    that finds none, up to `MAX_POLL_S`. One per event log (a process's readers share it: news
    for any makes all look soon)."""

    def __init__(self) -> None:
        self.pause_s = POLL_S

    def looked(self, found: bool) -> None:
        self.pause_s = POLL_S if found else min(MAX_POLL_S, self.pause_s * 2)


async def xread(client: AnyRedis, ids: dict[Any, Any], *, count: int, block_ms: int, poll: Poll) -> Reply:
    """[(stream key, entries)] for the streams with entries after their ids; waits up to
    `block_ms` (0: not at all) for the first. Raises redis-py's errors."""
    if not isinstance(client, RedisCluster):
        reply: Reply = await client.xread(ids, count=count, block=block_ms or None)  # type: ignore[assignment]
        return reply
    found = await _each(client, ids, count, None)
    if found or not block_ms:
        poll.looked(bool(found))
        return found
    if len(ids) > min(MAX_BLOCKING_STREAMS, getattr(client, "waiting_reads", MAX_BLOCKING_STREAMS)):
        # Too many streams to block on each: one more look after a pause that grows while the
        # log stays quiet (the caller reads again until its own wait is over).
        await asyncio.sleep(min(poll.pause_s, block_ms / 1000))
        found = await _each(client, ids, count, None)
        poll.looked(bool(found))
        return found
    return await _first_to_answer(client, ids, count, block_ms)


def _merged(results: list[Any]) -> Reply:
    """The entries of the reads that answered; the first error when none did."""
    replies = [r for r in results if not isinstance(r, BaseException)]
    if not replies and results:
        raise results[0]
    return [stream for reply in replies for stream in (reply or [])]


async def _each(client: RedisCluster, ids: dict[Any, Any], count: int, block_ms: int | None) -> Reply:
    reads = [client.xread({key: at}, count=count, block=block_ms) for key, at in ids.items()]
    return _merged(list(await asyncio.gather(*reads, return_exceptions=True)))


async def _first_to_answer(client: RedisCluster, ids: dict[Any, Any], count: int, block_ms: int) -> Reply:
    pending = {asyncio.ensure_future(client.xread({key: at}, count=count, block=block_ms)) for key, at in ids.items()}
    results: list[Any] = []
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for read in done:
                results.append(read.exception() or read.result())
            if any(not isinstance(r, BaseException) and r for r in results):
                break
    finally:
        for read in pending:
            read.cancel()
        for read in pending:
            with contextlib.suppress(BaseException):
                await read
    return _merged(results)
