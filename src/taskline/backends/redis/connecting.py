"""Open the right redis-py client for a URL: a plain one on a standalone Redis, the cluster
client when the node the URL names runs in cluster mode (SPEC §8 "Redis Cluster").

The URL form stays `redis://` / `rediss://`: the node is asked (`INFO cluster`), so the same
TASKLINE_REDIS_URL works whichever Redis is behind it and nobody has to know a second scheme.
"""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis as BlockingRedis
from redis import exceptions as redis_errors
from redis._parsers.commands import AsyncCommandsParser
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster as BlockingRedisCluster
from redis.connection import parse_url
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry as BlockingRetry

from taskline.backends.redis.failures import redis_unavailable
from taskline.backends.redis.packing import packing_with_hiredis
from taskline.errors import BackendUnavailable

AnyRedis = Redis | RedisCluster
"""The asyncio client the backend runs on: commands, pipelines and EVALSHA look the same on both."""
AnyBlockingRedis = BlockingRedis | BlockingRedisCluster

COMMAND_TIMEOUT_S = 3.0
"""How long the asyncio client waits to connect to Redis and for any one reply (asynq's read
timeout). A stopped Redis refuses at once, but a black-holed one (SIGSTOPped, a dead host, a
partition) accepts or drops packets and never answers: with redis-py's default (5 s a command,
several commands a request) a route took 8-9 s to answer. Every command we send is quick: the
slowest is an `XREAD BLOCK` of at most a second (events.py), and scripts work in batches of at
most 1,000; 3 s rather than less leaves room for a loaded machine. A route meeting a
black-holed Redis answers 503 within two of these (one hung reply, then a fresh connection
that hangs too)."""


class QueuingRedisCluster(RedisCluster):
    """redis-py's cluster client, with calls beyond the pool waiting for a connection.

    Its per-node pools raise MaxConnectionsError when every connection is busy, where the
    standalone client's BlockingConnectionPool waits: a burst of concurrent calls (an API under
    load, many consumers) would fail. One semaphore over every command and pipeline, a little
    under the per-node limit (a node never has more connections busy than the whole client),
    restores the waiting. Blocking reads (an event reader's `XREAD BLOCK`, which holds its
    connection for up to a second while nothing happens) go under a small semaphore of their
    own, `waiting`, taken out of the same budget: readers waiting for events never hold the
    permits API calls need.

    It is opened without retries (`open_client`): redis-py's cluster pipeline answers a
    connection error by closing every connection of every node before it retries, so one
    request touching a dead node broke the requests in flight on the live ones, which retried
    and closed everything again. Without retries a call that meets a dead node is a 503 at once
    (callers retry: workers poll again, clients back off), and the slot map is read again before
    the next call (`refresh_later`), which is how a promoted replica is found.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = int(kwargs.get("max_connections", 100))
        waiting = max(1, min(WAITING_READS, limit // 4))
        self.waiting = asyncio.Semaphore(waiting)
        self.waiting_reads = waiting
        self.in_flight = asyncio.Semaphore(max(1, limit - _MARGIN - waiting))
        self.commands_parser = _CommandTable(self.get_nodes)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self.waiting if _blocks(args) else self.in_flight:
            return await super().execute_command(*args, **kwargs)

    def refresh_later(self) -> None:
        """Read the slot map again before the next command (redis-py's own flag for it, which its
        commands set on a connection error and its pipelines only by closing every connection)."""
        self._initialize = True

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> ClusterPipeline:
        if shard_hint:
            raise ValueError("shard_hint has no meaning on a cluster")
        return _QueuingPipeline(self, transaction)  # type: ignore[abstract]  # as redis-py's own pipeline()


class _QueuingPipeline(ClusterPipeline):
    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        client = self.cluster_client
        assert isinstance(client, QueuingRedisCluster)
        async with client.in_flight:
            try:
                return await super().execute(raise_on_error, allow_redirections)
            except (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ClusterDownError):
                client.refresh_later()  # a node died or the cluster is electing: learn the new map
                raise


_MARGIN = 2
WAITING_READS = 16
"""Blocking reads a cluster client runs at once (at most a quarter of its connections)."""


def _blocks(args: tuple[Any, ...]) -> bool:
    """Whether a command waits on the server for news: XREAD with BLOCK (as redis-py builds it)."""
    return len(args) > 1 and str(args[0]).upper() == "XREAD" and args[1] in (b"BLOCK", "BLOCK")


class _CommandTable(AsyncCommandsParser):
    """redis-py's table of where each command's keys are, read (COMMAND) once, from any node
    that answers.

    redis-py reads it again at every re-initialisation, which follows any connection error,
    from the "default node": the first primary of the slot map. A primary that died with its
    whole shard stays in the map, so when it is first every re-initialisation failed and the
    client refused all commands, the live shards' too (and a client could not start at all).
    The table does not change while the servers run the same version: one read is enough."""

    def __init__(self, nodes: Callable[[], list[ClusterNode]]) -> None:
        super().__init__()
        self._nodes = nodes

    async def initialize(self, node: Any = None) -> None:
        if self.commands:
            return
        candidates = [node, *(n for n in self._nodes() if n is not node)] if node is not None else self._nodes()
        for candidate in candidates:
            try:
                await super().initialize(candidate)
                return
            except (redis_errors.ConnectionError, redis_errors.TimeoutError):
                if candidate is candidates[-1]:
                    raise


def _cluster_enabled(info: dict[str, Any]) -> bool:
    return str(info.get("cluster_enabled", 0)) == "1"


def _database_zero(url: str) -> None:
    """A cluster has database 0 only: a URL asking for another is a mistake to say, not to ignore."""
    db = parse_url(url).get("db")  # type: ignore[no-untyped-call]
    if db not in (None, 0):
        raise BackendUnavailable(
            f"the Redis at TASKLINE_REDIS_URL is a cluster node, and a Redis Cluster has database 0 only; "
            f"the URL asks for database {db}: drop the '/{db}' from it"
        )


@contextmanager
def _selecting(url: str) -> Iterator[None]:
    """A URL with a database other than 0 has its connection SELECT it, which a cluster node
    refuses: that refusal is the clear error `_database_zero` gives."""
    try:
        yield
    except redis_errors.ResponseError as exc:
        if "SELECT is not allowed in cluster mode" in str(exc):
            _database_zero(url)
        raise


async def open_client(url: str, *, max_connections: int) -> AnyRedis:
    """A connected client for `url`: `RedisCluster` if the node is a cluster node, else `Redis`.

    Raises:
        BackendUnavailable: the node does not answer, or it is a cluster node and `url` names a
            database other than 0.
    """
    # A blocking pool makes a burst of concurrent calls queue for a connection instead of
    # failing with "Too many connections".
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=20,
        socket_timeout=COMMAND_TIMEOUT_S,
        socket_connect_timeout=COMMAND_TIMEOUT_S,
        # redis-py 8 turns "maintenance notifications" (a Redis Enterprise feature) on by default,
        # and while they are on its pool skips the check that a connection it hands out is still
        # open: after a Redis restart (or CLIENT KILL) each pooled connection failed one request
        # with a 503 before it was replaced. Off, a closed connection is reopened on checkout.
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
    )
    pool.connection_class = packing_with_hiredis(pool.connection_class)
    client = Redis.from_pool(pool)
    try:
        with redis_unavailable(), _selecting(url):
            clustered = _cluster_enabled(await client.info("cluster"))
    except BaseException:
        await client.aclose()
        raise
    if not clustered:
        return client
    await client.aclose()
    _database_zero(url)
    cluster = QueuingRedisCluster.from_url(
        url,
        max_connections=max_connections,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=COMMAND_TIMEOUT_S,
        socket_connect_timeout=COMMAND_TIMEOUT_S,
    )
    # The nodes it discovers are built from these kwargs: hiredis packs their commands too.
    kwargs = cluster.nodes_manager.connection_kwargs
    kwargs["connection_class"] = packing_with_hiredis(kwargs["connection_class"])
    try:
        with redis_unavailable():
            await cluster.initialize()
    except BaseException:
        await cluster.aclose()
        raise
    return cluster


def open_blocking_client(url: str, *, timeout_s: float) -> AnyBlockingRedis:
    """`open_client` for redis-py's blocking client (the blocking `Client` straight on Redis)."""
    client = BlockingRedis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    try:
        with redis_unavailable(blocking=True), _selecting(url):
            clustered = _cluster_enabled(client.info("cluster"))
    except BaseException:
        client.close()
        raise
    if not clustered:
        return client
    client.close()
    _database_zero(url)
    # No retries, as the asyncio cluster client: redis-py's default sends a command again up to
    # 10 times on a connection error or timeout, and a submit whose reply was lost would be made
    # twice. A connection error still makes it read the slot map again (how a failover is found).
    with redis_unavailable(blocking=True):
        return BlockingRedisCluster.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=BlockingRetry(NoBackoff(), 0)
        )
