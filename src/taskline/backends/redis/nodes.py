"""The nodes of a Redis Cluster as /health reports them: which answer, which do not.

A cluster with a shard down still serves the queues on the others, so health is "some node
answers" (SPEC §8), and the nodes that do not are listed: those the client knows that fail a
PING, and those the answering nodes' own view (CLUSTER NODES) flags failed or disconnected,
which covers a replica nobody routes commands to.
"""

import asyncio
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio.cluster import ClusterNode, RedisCluster

NODE_PING_TIMEOUT_S = 1.0
_DOWN_FLAGS = {"fail", "fail?"}


async def _answers(client: RedisCluster, node: ClusterNode) -> bool:
    try:
        async with asyncio.timeout(NODE_PING_TIMEOUT_S):
            return bool(await client.ping(target_nodes=node))
    except (redis_errors.RedisError, redis_errors.RedisClusterException, OSError, TimeoutError):
        return False


def _down_in_view(nodes: dict[str, Any]) -> set[str]:
    """Addresses a CLUSTER NODES reply (redis-py's parse: address -> fields) holds down."""
    down = set()
    for address, fields in nodes.items():
        flags = set(str(fields.get("flags", "")).split(","))
        if flags & _DOWN_FLAGS or fields.get("connected") is False:
            down.add(address.split("@")[0])
    return down


async def unreachable(client: RedisCluster) -> tuple[bool, list[str]]:
    """(does any node answer, the addresses of the nodes that do not), without raising."""
    known = client.get_nodes()
    answers = await asyncio.gather(*(_answers(client, node) for node in known))
    down = {node.name for node, ok in zip(known, answers, strict=True) if not ok}
    alive = [node for node, ok in zip(known, answers, strict=True) if ok]
    if alive:
        try:
            async with asyncio.timeout(NODE_PING_TIMEOUT_S):
                view = await client.execute_command("CLUSTER NODES", target_nodes=alive[0])
            down |= _down_in_view(view)
        except (redis_errors.RedisError, redis_errors.RedisClusterException, OSError, TimeoutError):
            pass  # the PINGs above already say what this client can tell
    return bool(alive), sorted(down)
