"""TASKLINE_REDIS_WAIT_REPLICAS: a script's write acknowledged only once `WAIT n 1000` says n
replicas have it (SPEC §8), so a failover loses nothing a client was told is stored.

WAIT counts the replicas that have every write made *on its own connection*: sent on any
other it answers for nothing (a connection that wrote nothing is "replicated" at once). So
the script and the WAIT go together, in one pipelined write on one connection to the node
that owns the script's keys: a plain pipeline on a standalone Redis, the owning node's own
connection on a cluster.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis import Redis as BlockingRedis
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.cluster import RedisCluster as BlockingRedisCluster

from taskline.backends.redis.connecting import QueuingRedisCluster
from taskline.errors import BackendUnavailable

if TYPE_CHECKING:
    from taskline.backends.redis.connecting import AnyBlockingRedis, AnyRedis
    from taskline.backends.redis.scripts import LuaScript

WAIT_TIMEOUT_MS = 1000
"""How long a write waits for its replicas before it is answered 503 (SPEC §8: 1 s)."""

Args = Sequence[str | int | float | bytes]


def _confirmed(replies: list[Any], replicas: int) -> Any:
    """The script's reply, once WAIT's says enough replicas have it; raises what either raised."""
    script_reply, wait_reply = replies
    if isinstance(script_reply, Exception):
        raise script_reply
    if isinstance(wait_reply, Exception):
        raise wait_reply
    if int(wait_reply) < replicas:
        raise BackendUnavailable(
            f"redis: {int(wait_reply)} of the {replicas} replicas TASKLINE_REDIS_WAIT_REPLICAS asks for "
            f"confirmed the write within {WAIT_TIMEOUT_MS} ms; it is not acknowledged"
        )
    return script_reply


async def run_and_wait(client: "AnyRedis", script: "LuaScript", keys: list[str], args: Args, replicas: int) -> Any:
    """EVALSHA then WAIT on one connection; EVAL instead when the node lost the script.

    Raises redis-py's errors (the caller translates them) and BackendUnavailable when fewer
    than `replicas` confirmed. A script refused by a redirect (the slot moved: a failover) or
    for want of its source ran nothing, so it goes again; nothing else is sent twice, as a
    write whose fate is unknown must not be made twice."""
    call: tuple[Any, ...] = ("EVALSHA", script.sha, len(keys), *keys, *args)
    for _ in range(3):
        try:
            if isinstance(client, QueuingRedisCluster):
                async with client.in_flight:  # a connection of the client's own, as its commands take
                    replies = await _on_owner(client, keys[0], call, replicas)
            elif isinstance(client, RedisCluster):
                replies = await _on_owner(client, keys[0], call, replicas)
            else:
                replies = await _pipelined(client, call, replicas)
            return _confirmed(replies, replicas)
        except redis_errors.NoScriptError:
            call = ("EVAL", script.source, len(keys), *keys, *args)
        except (redis_errors.MovedError, redis_errors.AskError):
            assert isinstance(client, RedisCluster)
            await client.exists(keys[0])  # follows the redirect: the slot map is right again
    raise BackendUnavailable("redis: the script's slot kept moving; the write is not acknowledged")


async def _pipelined(client: Redis, call: tuple[Any, ...], replicas: int) -> list[Any]:
    async with client.pipeline(transaction=False) as pipe:
        pipe.execute_command(*call)
        pipe.execute_command("WAIT", replicas, WAIT_TIMEOUT_MS)
        return list(await pipe.execute(raise_on_error=False))


async def _on_owner(client: RedisCluster, key: str, call: tuple[Any, ...], replicas: int) -> list[Any]:
    """The two commands on one connection of the node that owns `key` (what redis-py's own
    cluster pipeline does per node, without its routing of a keyless WAIT to another node)."""
    await client.initialize()
    node: ClusterNode | None = client.get_node_from_key(key)
    if node is None:
        raise redis_errors.ClusterDownError(f"no node serves the slot of {key}")
    connection = node.acquire_connection()
    try:
        await connection.send_packed_command(connection.pack_commands([call, ("WAIT", replicas, WAIT_TIMEOUT_MS)]))
        replies: list[Any] = []
        for command in (call[0], "WAIT"):
            try:
                replies.append(await node.parse_response(connection, command))
            except redis_errors.ResponseError as exc:
                replies.append(exc)
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError):
        # The node is gone (a crash, a failover): read the slot map again for the next call.
        if isinstance(client, QueuingRedisCluster):
            client.refresh_later()
        raise
    finally:
        node.release(connection)
    return replies


def run_and_wait_blocking(
    client: "AnyBlockingRedis", script: "LuaScript", keys: list[str], args: Args, replicas: int
) -> Any:
    """`run_and_wait` on redis-py's blocking clients: the blocking cluster client hands out a
    plain client of the owning node, whose pipeline is one connection."""
    call: tuple[Any, ...] = ("EVALSHA", script.sha, len(keys), *keys, *args)
    for _ in range(3):
        node_client: BlockingRedis | BlockingRedisCluster = client
        node = None
        if isinstance(client, BlockingRedisCluster):
            node = client.get_node_from_key(keys[0])  # type: ignore[no-untyped-call]
            if node is None:
                _reread_slot_map(client, None)
                raise redis_errors.ClusterDownError(f"no node serves the slot of {keys[0]}")
            node_client = client.get_redis_connection(node)
        try:
            with node_client.pipeline(transaction=False) as pipe:
                pipe.execute_command(*call)
                pipe.execute_command("WAIT", replicas, WAIT_TIMEOUT_MS)
                return _confirmed(list(pipe.execute(raise_on_error=False)), replicas)
        except redis_errors.NoScriptError:
            call = ("EVAL", script.source, len(keys), *keys, *args)
        except (redis_errors.MovedError, redis_errors.AskError):
            client.exists(keys[0])
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError):
            # The node's own client bypasses the cluster client's handling of a dead node: read
            # the slot map again (as `refresh_later` does), else every call goes to it forever.
            if isinstance(client, BlockingRedisCluster):
                _reread_slot_map(client, node)
            raise
    raise BackendUnavailable("redis: the script's slot kept moving; the write is not acknowledged")


def _reread_slot_map(client: BlockingRedisCluster, failed: Any) -> None:
    """What redis-py's blocking cluster client does after a connection error: the failed node
    tried last, the slot map read again from the others (quietly: the caller raises its error)."""
    name = None if failed is None else failed.name
    try:
        if name is not None:
            client.nodes_manager.move_node_to_end_of_cached_nodes(name)
        client.nodes_manager.initialize(last_failed_node_name=name)
    except (redis_errors.RedisError, OSError):
        pass  # no node answers now: the next call tries again
