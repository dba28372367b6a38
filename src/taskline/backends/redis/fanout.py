"""Reads over every queue that go on with the shards that answer.

A pipeline over many queues is, on a cluster, one pipeline per node; redis-py fails all of it
when one node is down. For the reads that decide what work there is (lease heads, task types,
due timers, expired leases, due webhooks) a lost shard must not stop the others' queues
(SPEC §8), so `partial_pipeline` runs each node's share on its own and hands back, in place of
the replies of a node that failed, the BackendUnavailable it raised; callers skip those queues,
and raise it (`all_failed`) when none answered. On one Redis it is a plain pipeline: all or
nothing.
"""

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster

from taskline.backends.redis.connecting import AnyRedis
from taskline.backends.redis.failures import redis_unavailable
from taskline.errors import TasklineError

Command = tuple[str, tuple[Any, ...]]
"""A redis-py client method name and its arguments, the key first."""


async def pipeline(client: AnyRedis, commands: Sequence[Command]) -> list[Any]:
    """Run the commands in one round trip (per node), without MULTI (they may span slots)."""
    if not commands:
        return []
    with redis_unavailable():
        async with client.pipeline(transaction=False) as pipe:
            for method, args in commands:
                getattr(pipe, method)(*args)
            return list(await pipe.execute())


async def partial_pipeline(client: AnyRedis, commands: Sequence[Command]) -> list[Any]:
    """`pipeline`, except that on a cluster the replies of a node that failed are its
    TasklineError (BackendUnavailable) instead of failing the rest."""
    if not isinstance(client, RedisCluster) or not commands:
        return await pipeline(client, commands)
    by_node: dict[str, list[int]] = {}
    for index, (_, args) in enumerate(commands):
        node = client.get_node_from_key(args[0])
        by_node.setdefault("" if node is None else node.name, []).append(index)

    async def share(indexes: list[int]) -> list[Any] | TasklineError:
        try:
            return await pipeline(client, [commands[i] for i in indexes])
        except TasklineError as exc:
            return exc

    replies: list[Any] = [None] * len(commands)
    shares = await asyncio.gather(*(share(indexes) for indexes in by_node.values()))
    for indexes, got in zip(by_node.values(), shares, strict=True):
        for at, index in enumerate(indexes):
            replies[index] = got if isinstance(got, TasklineError) else got[at]
    return replies


def failed(reply: Any) -> bool:
    """Whether a `partial_pipeline` reply is a node's failure rather than an answer."""
    return isinstance(reply, TasklineError)


def answered(reply: Any) -> bool:
    """Whether a `partial_pipeline` reply found something: neither empty (no head, a length of
    0) nor a node's failure."""
    return bool(reply) and not failed(reply)


def all_failed(replies: Sequence[Any]) -> None:
    """Raise the failure when no reply is an answer: no shard the read needs is up."""
    if replies and all(failed(reply) for reply in replies):
        raise replies[0]
