"""What this process knows about the store's layout: queue names, task types, where a task lives.

Nothing here is authoritative; each cache is refreshed from Redis when it might be stale
(a lease that finds nothing, a task id not found in the queues known so far). Queue and type
of a task never change, so remembering a task's queue can't go wrong: at worst the task is
gone and the script says so.

The queue set and each queue's types are also read again once they are `REFRESH_S` old: a
lease reads its candidates from here, and a queue or type another process added (a second API
instance, a worker on Redis) must take its place in lease order within that, not only once the
queues known so far run dry.
"""

import time
from collections import OrderedDict
from collections.abc import Callable

from taskline.backends.redis.codec import text
from taskline.backends.redis.connecting import AnyRedis
from taskline.backends.redis.failures import redis_unavailable
from taskline.backends.redis.fanout import failed, partial_pipeline
from taskline.backends.redis.keys import KeySpace

_REMEMBERED_TASKS = 100_000
REFRESH_S = 1.0
"""How old the cached queue set and queue types may be before a read asks Redis again."""


class Places:
    """Where tasks live, task id -> (queue, type), for the last `_REMEMBERED_TASKS` ids seen."""

    def __init__(self) -> None:
        self._places: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def remember(self, task_id: str, queue: str, task_type: str) -> None:
        """Note where a task lives (its queue and type never change)."""
        self._places[task_id] = (queue, task_type)
        self._places.move_to_end(task_id)
        if len(self._places) > _REMEMBERED_TASKS:
            self._places.popitem(last=False)

    def place_of(self, task_id: str) -> tuple[str, str] | None:
        """The remembered (queue, type) of a task, if this process has seen it."""
        return self._places.get(task_id)


class Catalog:
    """Cached queue names, per-queue task types, and task id -> (queue, type)."""

    def __init__(self, client: "AnyRedis", keys: KeySpace, *, now: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._keys = keys
        self._now = now
        self._queues: set[str] = set()
        self._queues_read = float("-inf")
        self._registered: set[str] = set()
        self._types: dict[str, frozenset[str]] = {}
        self._types_read: dict[str, float] = {}
        self._places = Places()
        self.place_of = self._places.place_of

    def remember(self, task_id: str, queue: str, task_type: str) -> None:
        """Note where a task this process has stored or leased lives. A type new to a queue whose
        types are cached joins them at once: a lease of any type here must not pass over a task
        submitted here until the cache is next read (another process's new type waits for that)."""
        self._places.remember(task_id, queue, task_type)
        known = self._types.get(queue)
        if known is not None and task_type not in known:
            self._types[queue] = known | {task_type}

    async def register(self, queues: set[str]) -> None:
        """Add queues to the global set before their first task is stored (once per process)."""
        new = queues - self._registered
        if new:
            with redis_unavailable():
                await self._client.sadd(self._keys.queues, *sorted(new))
            self._registered |= new
            self._queues |= new

    async def queues(self, *, fresh: bool = False) -> list[str]:
        """Every known queue, by name; `fresh` reads the global set again, as does a cache
        `REFRESH_S` old."""
        if fresh or not self._queues or self._now() - self._queues_read >= REFRESH_S:
            read_at = self._now()
            with redis_unavailable():
                members = await self._client.smembers(self._keys.queues)
            self._queues = {text(m) for m in members}
            self._queues_read = read_at
        return sorted(self._queues)

    async def types(self, queues: list[str], *, fresh: bool = False) -> dict[str, frozenset[str]]:
        """The task types each queue has seen; `fresh` reads them again, as does a cache
        `REFRESH_S` old."""
        now = self._now()
        missing = [q for q in queues if fresh or now - self._types_read.get(q, float("-inf")) >= REFRESH_S]
        if missing:
            commands = [("smembers", (self._keys.queue(queue).types,)) for queue in missing]
            replies = await partial_pipeline(self._client, commands)
            for queue, members in zip(missing, replies, strict=True):
                if failed(members):  # its shard is down: what was known stands, asked again next time
                    self._types.setdefault(queue, frozenset())
                    continue
                self._types[queue] = frozenset(text(m) for m in members)
                self._types_read[queue] = now
        return {q: self._types[q] for q in queues}

    async def find(self, task_id: str) -> tuple[str, bytes] | None:
        """The queue and stored record of a task, or None if no queue holds it.

        Asks the remembered queue first, then every known queue in one pipeline, then the
        queues other processes added since this one last looked. On a cluster with a shard
        down a task on the live shards is still found; one on none of them is a 503, not None.
        """
        place = self._places.place_of(task_id)
        remembered = None if place is None else place[0]
        if remembered is not None:
            with redis_unavailable():
                # The client never decodes replies: a record is the bytes stored.
                raw: bytes | None = await self._client.hget(self._keys.queue(remembered).tasks, task_id)  # type: ignore[assignment]
            if raw is not None:
                return remembered, raw
        searched: set[str] = set()
        unanswered = None  # a shard that is down may hold it: then "no such task" is not known
        for fresh in (False, True):
            queues = [q for q in await self.queues(fresh=fresh) if q not in searched]
            if not queues:
                continue
            replies = await partial_pipeline(
                self._client, [("hget", (self._keys.queue(q).tasks, task_id)) for q in queues]
            )
            for queue, reply in zip(queues, replies, strict=True):
                if failed(reply):
                    unanswered = reply
                elif reply is not None:
                    return queue, reply
            searched |= set(queues)
        if unanswered is not None:
            raise unanswered
        return None
