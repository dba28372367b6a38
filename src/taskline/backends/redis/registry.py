"""The worker registry on Redis: one hash per worker and a ZSET of sightings, all in the slot
`{~workers}` (keys.py), so each change is one script call that Redis Cluster accepts.

Hash fields are plain strings: times in ms, counts as integers, queue and type lists as JSON.
"""

from dataclasses import fields
from typing import Any

import orjson

from taskline.backends.redis.codec import from_ms
from taskline.backends.redis.context import RedisContext
from taskline.core.workers import DEPARTURE_KEPT_S, WorkerDetails, WorkerRecord, WorkerState

BATCH = 500
_LISTS = frozenset({"queues", "types"})
_COUNTS = frozenset({"pid", "concurrency", "active", "processed", "failed"})


def _details_args(details: WorkerDetails) -> list[str | int | float]:
    args: list[str | int | float] = []
    for spec in fields(details):
        value = getattr(details, spec.name)
        if value is not None:
            args += [spec.name, orjson.dumps(value).decode() if spec.name in _LISTS else value]
    return args


def _record(worker_id: str, flat: list[bytes]) -> WorkerRecord | None:
    """The record from HGETALL's flat reply (a script's) or None when the hash is empty (or a
    stale sighting was dropped)."""
    if not flat:
        return None
    return _from_hash(worker_id, dict(zip(flat[::2], flat[1::2], strict=True)))


def _from_hash(worker_id: str, stored: dict[bytes, bytes]) -> WorkerRecord:
    return worker_from_fields(worker_id, {key.decode(): raw.decode() for key, raw in stored.items()})


def worker_from_fields(worker_id: str, values: dict[str, str]) -> WorkerRecord:
    """The record a worker's hash holds, its fields as text (as a worker event carries them)."""
    record: dict[str, Any] = {name: int(values[name]) for name in _COUNTS if name in values}
    record.update({name: orjson.loads(values[name]) for name in _LISTS if name in values})
    return WorkerRecord(
        id=worker_id,
        host=values.get("host"),
        state=WorkerState(values.get("state", WorkerState.ACTIVE)),
        started_at=from_ms(int(values["started_ms"])),
        last_seen=from_ms(int(values["last_seen_ms"])),
        **record,
    )


class WorkerRegistry:
    """Sightings, listing, pause and forgetting of workers (the `*_worker*` Backend methods)."""

    def __init__(self, ctx: RedisContext) -> None:
        self._ctx = ctx
        self._keys = ctx.keys

    async def register(self, worker_id: str, details: WorkerDetails, now_ms: int, since_ms: int) -> WorkerRecord | None:
        """The sighting, or None if it began before the worker said it left (register_worker.lua)."""
        keys = [self._keys.workers_seen, self._keys.worker(worker_id), self._keys.worker_events]
        args = [worker_id, now_ms, since_ms, *_details_args(details)]
        return _record(worker_id, await self._ctx.scripts.run("register_worker", keys, args))

    async def seen_since(self, seen_since_ms: int) -> list[WorkerRecord]:
        (ids,) = await self._ctx.pipeline([("zrangebyscore", (self._keys.workers_seen, seen_since_ms, "+inf"))])
        names = sorted(i.decode() for i in ids)
        hashes = await self._ctx.pipeline([("hgetall", (self._keys.worker(n),)) for n in names])
        # A worker forgotten between the two reads has an empty hash: it is gone, leave it out.
        return [_from_hash(n, h) for n, h in zip(names, hashes, strict=True) if b"started_ms" in h]

    async def count_seen_since(self, seen_since_ms: int) -> int:
        """ZCOUNT of the sightings: O(log n), no hash read."""
        (count,) = await self._ctx.pipeline([("zcount", (self._keys.workers_seen, seen_since_ms, "+inf"))])
        return int(count)

    async def get(self, worker_id: str) -> WorkerRecord | None:
        (stored,) = await self._ctx.pipeline([("hgetall", (self._keys.worker(worker_id),))])
        # Only `said_left_ms` in it: the worker said it left (forget_workers.lua).
        return _from_hash(worker_id, stored) if b"started_ms" in stored else None

    async def set_paused(self, worker_id: str, paused: bool, now_ms: int) -> WorkerRecord | None:
        state = WorkerState.PAUSED if paused else WorkerState.ACTIVE
        keys = [self._keys.worker(worker_id), self._keys.worker_events]
        flat = await self._ctx.scripts.run("set_worker_paused", keys, [state.value, worker_id, now_ms])
        return _record(worker_id, flat)

    async def forget(self, worker_ids: list[str], *, now_ms: int, seen_before_ms: int | None = None) -> int:
        """Delete the records of `worker_ids` (only those last seen before `seen_before_ms`, if given)."""
        before = "" if seen_before_ms is None else seen_before_ms
        return await self._in_batches("forget_workers", worker_ids, [before, now_ms, int(DEPARTURE_KEPT_S * 1000)])

    async def prune(self, seen_before_ms: int, now_ms: int) -> int:
        """Forget the workers last seen before `seen_before_ms`."""
        return await self.forget(await self._seen_before(seen_before_ms), now_ms=now_ms, seen_before_ms=seen_before_ms)

    async def depart(self, seen_before_ms: int, now_ms: int) -> int:
        """Workers last seen before `seen_before_ms` leave (once each); returns how many left now."""
        return await self._in_batches(
            "depart_workers", await self._seen_before(seen_before_ms), [seen_before_ms, now_ms]
        )

    async def _seen_before(self, seen_before_ms: int) -> list[str]:
        command = ("zrangebyscore", (self._keys.workers_seen, "-inf", f"({seen_before_ms}"))
        (ids,) = await self._ctx.pipeline([command])
        return [i.decode() for i in ids]

    async def _in_batches(self, script: str, worker_ids: list[str], args: list[str | int | float]) -> int:
        """Run a script over `worker_ids` (KEYS: seen, events, one hash each) BATCH at a time; sums the replies."""
        total = 0
        for start in range(0, len(worker_ids), BATCH):
            chunk = worker_ids[start : start + BATCH]
            keys = [self._keys.workers_seen, self._keys.worker_events, *(self._keys.worker(i) for i in chunk)]
            total += int(await self._ctx.scripts.run(script, keys, [*args, *chunk]))
        return total
