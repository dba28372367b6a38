"""Feed the in-process WakeupHub from Redis pub/sub, so a long poll in one process wakes on a
submit made by another.

On a Redis Cluster the scripts' classic PUBLISH (not SPUBLISH) is relayed by every node to
every other over the cluster bus, so one subscription on any node hears the wake-ups of all
queues on all shards: one connection per process, nothing to subscribe as queues appear,
and scripts keep publishing to a channel outside their slot (a shard channel would have to
be in it: one per queue, a subscription per queue per shard). The price is that every
wake-up crosses the bus to every node; wake-ups are one short message per submit batch,
lease or timer change, not per event. The subscription sits on one node at a time, a primary
or a replica (every node hears a classic publish: replicas are otherwise idle, and a replica
may outlive its primary), on a connection of its own, the next node in turn after its node
fails, so a dead node costs one reconnect.
"""

import asyncio
import contextlib
import logging

from redis import exceptions as redis_errors
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster

from taskline.backends.redis.connecting import AnyRedis
from taskline.backends.redis.keys import TIMER_MESSAGE
from taskline.backends.wakeup import WakeupHub

log = logging.getLogger(__name__)

_RECONNECT_DELAY_S = 0.5
# What ends a subscription for want of a node: the cluster client's own "cannot be connected"
# is no RedisError.
_LOST = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.RedisClusterException, OSError)


class WakeListener:
    """One background task per backend: subscribe to the wake channel and relay each message."""

    def __init__(self, client: "AnyRedis", channel: str, hub: WakeupHub) -> None:
        self._client = client
        self._channel = channel
        self._hub = hub
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._attempts = 0  # on a cluster: which node to subscribe on next

    async def start(self) -> None:
        """Start listening; returns once subscribed, so no message published after it is missed."""
        self._task = asyncio.create_task(self._listen_forever(), name="taskline-redis-wake")
        waiting = asyncio.create_task(self._subscribed.wait())
        await asyncio.wait({waiting, self._task}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def relay(self, message: str) -> None:
        if message == TIMER_MESSAGE:
            self._hub.timers_changed()
        else:
            self._hub.work_ready(message)

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except _LOST as exc:
                log.warning("redis wake-up listener lost its connection (%s); reconnecting", exc)
                await asyncio.sleep(_RECONNECT_DELAY_S)  # back off before reconnecting, not a sync wait

    def _subscriber(self) -> Redis:
        """The client to subscribe with: the backend's own on one Redis; on a cluster a client
        of one connection to one node (any: primary or replica), in turn. Not the cluster client's pubsub: that
        borrows the node's pool, which the cluster client closes whenever it reads the slot
        map again (after any connection error, on any node), dropping the subscription too."""
        if not isinstance(self._client, RedisCluster):
            return self._client
        nodes = sorted(self._client.get_nodes(), key=lambda node: node.name)
        if not nodes:
            raise redis_errors.RedisClusterException("the cluster client knows no node")
        self._attempts += 1
        node = nodes[self._attempts % len(nodes)]
        pool = ConnectionPool(connection_class=node.connection_class, max_connections=1, **node.connection_kwargs)
        return Redis(connection_pool=pool)

    async def _listen(self) -> None:
        subscriber = self._subscriber()
        pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            if self._subscribed.is_set():
                # Messages may have been lost while disconnected: wake everyone to look again.
                self._hub.work_ready(None)
                self._hub.timers_changed()
            self._subscribed.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    data = message["data"]
                    self.relay(data.decode() if isinstance(data, bytes) else str(data))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            if subscriber is not self._client:
                with contextlib.suppress(Exception):
                    await subscriber.aclose(close_connection_pool=True)
