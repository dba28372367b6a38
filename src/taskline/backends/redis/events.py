"""The event log on Redis: reading the per-queue event streams the scripts append to.

Every script that changes a task XADDs to its queue's stream (`taskline:{q}:events`), and
the registry's scripts to `taskline:{~workers}:events`, in the same atomic step as the change;
so an event is never missing or early, whatever process made the change. A reader asks for
all the streams at once (XREAD; on a cluster one per stream, streams.py), learning of new
queues from the catalog at most a second late; a queue it learns of late is read from the
cursor's start, so nothing is skipped.
"""

import time
from typing import Any

import orjson
from redis import exceptions as redis_errors

from taskline.backends.redis.codec import decode_task, from_ms, text
from taskline.backends.redis.context import RedisContext
from taskline.backends.redis.failures import redis_unavailable
from taskline.backends.redis.registry import worker_from_fields
from taskline.backends.redis.schedules import schedule_from_fields
from taskline.backends.redis.streams import Poll, xread
from taskline.core.schedules import schedule_summary
from taskline.events.types import (
    MAX_SEQ,
    Event,
    EventCursor,
    EventName,
    EventsLost,
    Position,
    event_id,
    position,
    resume_cursor,
    task_summary,
)

WORKERS_STREAM = "~workers"
"""The stream name of worker events in event ids (`~` is no queue's character)."""
SCHEDULES_STREAM = "~schedules"
"""The stream name of schedule events in event ids."""
_CATALOG_REFRESH_S = 1.0
_LONGEST_BLOCK_S = 1.0  # a reader looks for new queues at least this often


class RedisEventLog:
    """Cursors over, and reads of, every event stream of one namespace."""

    def __init__(self, ctx: RedisContext) -> None:
        self._ctx = ctx
        self._refreshed_at = 0.0
        self._poll = Poll()  # a cluster reader of many streams: how long it pauses between looks

    async def cursor(self, since: str | None, *, queue: str | None = None) -> EventCursor:
        """A cursor after `since`, or at the end of the log.

        Raises:
            EventsLost: events after `since` were trimmed away.
            ValueError: `since` is not an event id.
        """
        if since is None:
            return await self._cursor_at_end(queue)
        cursor = resume_cursor(since, queue=queue)
        for stream, key in await self._streams(cursor, fresh=True):
            await self._check_kept(key, cursor.position(stream))
        return cursor

    async def _cursor_at_end(self, queue: str | None) -> EventCursor:
        """After the last entry of each stream there is; streams that appear later are read
        from the millisecond before now (the server's clock, which stamps the entries)."""
        with redis_unavailable():
            seconds, micros = await self._ctx.client.time()
        cursor = EventCursor(start=(seconds * 1000 + micros // 1000 - 1, MAX_SEQ), queue=queue)
        streams = await self._streams(cursor, fresh=True)
        lasts = await self._ctx.pipeline([("xrevrange", (key, "+", "-", 1)) for _, key in streams])
        for (stream, _), last in zip(streams, lasts, strict=True):
            if last:
                cursor.after[stream] = position(text(last[0][0]))
        return cursor

    async def read(self, cursor: EventCursor, *, wait_s: float, limit: int) -> list[Event]:
        """Events after the cursor (up to `limit` per stream), ordered by id; waits up to
        `wait_s` for the first, looking for new queues every second meanwhile. Advances the cursor."""
        deadline = time.monotonic() + wait_s
        while True:
            events = await self._read_once(cursor, min(max(deadline - time.monotonic(), 0), _LONGEST_BLOCK_S), limit)
            if events or time.monotonic() >= deadline:
                return events

    async def _read_once(self, cursor: EventCursor, block_s: float, limit: int) -> list[Event]:
        streams = await self._streams(cursor)
        names = {key: stream for stream, key in streams}
        positions = {key: cursor.position(stream) for stream, key in streams}
        ids: dict[Any, Any] = {key: "{}-{}".format(*position) for key, position in positions.items()}
        block_ms = round(block_s * 1000)
        with redis_unavailable():
            reply = await xread(self._ctx.client, ids, count=limit, block_ms=block_ms, poll=self._poll)
        for key, entries in reply or []:
            if len(entries) >= limit:  # a reader this far behind may be behind the trimming too
                await self._check_kept(text(key), positions[text(key)])
        events = [
            _decode(names[text(key)], text(entry_id), fields)
            for key, entries in (reply or [])
            for entry_id, fields in entries
        ]
        events.sort(key=lambda event: position(event.id))
        for event in events:
            cursor.moved_past(event)
        # The schedules' stream is read whole: a reader of one queue passes the others' events by.
        return [e for e in events if cursor.queue is None or e.queue == cursor.queue]

    async def _streams(self, cursor: EventCursor, *, fresh: bool = False) -> list[tuple[str, str]]:
        """(stream name, key) of each stream the cursor reads."""
        keys = self._ctx.keys
        if cursor.queue is not None:
            # Schedule events belong to their task's queue too (Event.queue): read and filtered.
            return [(cursor.queue, keys.queue(cursor.queue).events), (SCHEDULES_STREAM, keys.schedule_events)]
        stale = time.monotonic() - self._refreshed_at > _CATALOG_REFRESH_S
        if fresh or stale:
            self._refreshed_at = time.monotonic()
        queues = await self._ctx.catalog.queues(fresh=fresh or stale)
        return [
            (WORKERS_STREAM, keys.worker_events),
            (SCHEDULES_STREAM, keys.schedule_events),
            *((q, keys.queue(q).events) for q in queues),
        ]

    async def _check_kept(self, key: str, after: Position) -> None:
        """Raise EventsLost if entries after `after` were trimmed away. Trimming only ever takes
        the oldest entries, so that is when some were trimmed and the oldest kept is later
        than `after` (the entry trimmed just before it may have been `after` itself: then
        the answer errs on the side of `lagged`)."""
        with redis_unavailable():
            try:
                info = await self._ctx.client.xinfo_stream(key)
            except redis_errors.ResponseError:
                return  # no such stream: nothing was ever in it, nothing lost
        first = info.get("first-entry")
        trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
        if trimmed and first and position(text(first[0])) > after:
            raise EventsLost(f"events of {key} after {after[0]}-{after[1]} are no longer kept")


def _decode(stream: str, entry_id: str, raw: dict[Any, Any]) -> Event:
    fields = {text(k): v for k, v in raw.items()}  # values stay bytes: a task's body is a binary record
    ms, seq = position(entry_id)
    name = EventName(text(fields["e"]))
    ts = from_ms(int(fields["ts"]))
    if stream == SCHEDULES_STREAM:
        # Reduced here too: an entry written before hashes had a summary carries the definition.
        schedule = schedule_summary(schedule_from_fields({k: text(v) for k, v in orjson.loads(fields["b"]).items()}))
        task = None
        if "i" in fields:  # schedule.fired: the task it submitted
            task = task_summary(decode_task(text(fields["i"]), text(fields["q"]), fields["t"]))
        return Event(id=event_id(ms, seq, stream), name=name, ts=ts, schedule=schedule, task=task)
    if stream == WORKERS_STREAM:
        worker = worker_from_fields(text(fields["w"]), orjson.loads(fields["b"]))
        return Event(id=event_id(ms, seq, stream), name=name, ts=ts, worker=worker)
    task = task_summary(decode_task(text(fields["i"]), stream, fields["b"]))
    return Event(id=event_id(ms, seq, stream), name=name, ts=ts, task=task)
