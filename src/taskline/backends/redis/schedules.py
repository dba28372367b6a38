"""Periodic schedules on Redis: one hash per schedule, a SET of names and a ZSET of next runs,
all in the slot `{~schedules}` (keys.py), so each change is one script that Redis Cluster accepts.

Hash fields are plain strings: times in ms, `paused` as '0' | '1', the definition as JSON that
Lua never decodes (the task's payload keeps its exact JSON), and `summary`: the definition as
events show it (`core.schedules.summary_definition`, no payload), which a schedule event carries
in place of `definition`, so the stream stays small whatever the task carries.
"""

from typing import Any

import orjson

from taskline.backends.redis.codec import encode_task, from_ms, text, to_ms
from taskline.backends.redis.context import RedisContext
from taskline.backends.redis.keys import KeySpace
from taskline.core import schedules as model
from taskline.core.clock import Clock
from taskline.core.schedules import Schedule, ScheduleDefinition
from taskline.core.task import Task
from taskline.events.types import task_summary

RESUME_TRIES = 5  # a resume whose definition changed under it reads again; each replace is a new chance


def schedule_from_fields(values: dict[str, str]) -> Schedule:
    """The schedule a hash holds, its fields as text (as a schedule event carries them)."""
    return Schedule(
        definition=model.definition_from_json(orjson.loads(values["definition"])),
        paused=values.get("paused") == "1",
        created_at=from_ms(int(values["created_ms"])),
        updated_at=from_ms(int(values["updated_ms"])),
        next_run_at=_at(values.get("next_ms")),
        last_run_at=_at(values.get("last_ms")),
        last_task_id=values.get("last_task"),
    )


def _at(ms: str | None) -> float | None:
    return None if ms is None else from_ms(int(ms))


def _ms(seconds: float | None) -> str | int:
    return "" if seconds is None else to_ms(seconds)


def _decode(flat: list[Any]) -> Schedule | None:
    if not flat:
        return None
    return schedule_from_fields({text(k): text(v) for k, v in zip(flat[::2], flat[1::2], strict=True)})


class ScheduleStore:
    """The `*_schedule*` Backend methods on Redis."""

    def __init__(self, ctx: RedisContext, clock: Clock) -> None:
        self._ctx = ctx
        self._keys: KeySpace = ctx.keys
        self._clock = clock

    def _script_keys(self, name: str, *, names: bool) -> list[str]:
        keys = self._keys
        middle = [keys.schedule_names] if names else []
        return [keys.schedule(name), *middle, keys.schedules_due, keys.schedule_events]

    async def put(self, definition: ScheduleDefinition) -> tuple[Schedule, bool]:
        now = self._clock.now()
        args: list[str | int | float | bytes] = [
            definition.name,
            orjson.dumps(model.definition_json(definition)).decode(),
            to_ms(now),
            _ms(model.next_tick(definition, now)),
            self._keys.wake_channel,
            orjson.dumps(model.definition_json(model.summary_definition(definition))).decode(),
            orjson.dumps(model.timing(definition)).decode(),
        ]
        created, flat = await self._ctx.scripts.run(
            "put_schedule", self._script_keys(definition.name, names=True), args
        )
        schedule = _decode(flat)
        assert schedule is not None  # the script has just written it
        return schedule, bool(created)

    async def get(self, name: str) -> Schedule | None:
        (stored,) = await self._ctx.pipeline([("hgetall", (self._keys.schedule(name),))])
        return _decode([item for pair in stored.items() for item in pair]) if stored else None

    async def all(self) -> list[Schedule]:
        (names,) = await self._ctx.pipeline([("smembers", (self._keys.schedule_names,))])
        return await self._many(sorted(text(n) for n in names))

    async def _many(self, names: list[str]) -> list[Schedule]:
        hashes = await self._ctx.pipeline([("hgetall", (self._keys.schedule(n),)) for n in names])
        # One deleted between the two reads has an empty hash: it is gone, leave it out.
        found = (_decode([item for pair in h.items() for item in pair]) for h in hashes if h)
        return [schedule for schedule in found if schedule is not None]

    async def delete(self, name: str) -> bool:
        args: list[str | int | float | bytes] = [name, to_ms(self._clock.now())]
        return bool(await self._ctx.scripts.run("delete_schedule", self._script_keys(name, names=True), args))

    async def set_paused(self, name: str, paused: bool) -> Schedule | None:
        for _ in range(RESUME_TRIES):
            read = None if paused else await self.get(name)
            if not paused and (read is None or not read.paused):
                return read  # no such schedule, or running already: nothing to do
            now = self._clock.now()
            next_ms: str | int = ""
            read_at: str | int = ""
            if read is not None:
                next_ms, read_at = _ms(model.next_tick(read.definition, now)), to_ms(read.updated_at)
            args = [name, "1" if paused else "0", to_ms(now), next_ms, read_at, self._keys.wake_channel]
            reply = await self._ctx.scripts.run("set_schedule_paused", self._script_keys(name, names=False), args)
            if not reply:
                return None
            status, flat = reply
            if int(status) >= 0:
                return _decode(flat)
        return await self.get(name)  # replaced again and again meanwhile: as it is now

    async def due(self, limit: int) -> list[Schedule]:
        now_ms = to_ms(self._clock.now())
        (names,) = await self._ctx.pipeline([("zrangebyscore", (self._keys.schedules_due, "-inf", now_ms, 0, limit))])
        # Each hash is read after the index: one another scheduler advanced (or that was paused)
        # in between is no longer due, and firing its next tick would fire it early.
        found = await self._many([text(n) for n in names])
        due = [s for s in found if s.next_run_at is not None and to_ms(s.next_run_at) <= now_ms]
        return sorted(due, key=lambda s: s.next_run_at or 0.0)

    async def advance(
        self, name: str, *, due_at: float, next_run_at: float | None, ran_at: float, task: Task | None
    ) -> bool:
        args: list[str | int | float | bytes] = [name, to_ms(due_at), _ms(next_run_at), to_ms(ran_at)]
        args += [to_ms(self._clock.now())]
        # The event's task is the summary every task event carries, not the record with its payload.
        args += ["", "", b""] if task is None else [task.id, task.queue, encode_task(task_summary(task))]
        return bool(await self._ctx.scripts.run("advance_schedule", self._script_keys(name, names=False), args))

    async def next_run(self) -> float | None:
        (first,) = await self._ctx.pipeline([("zrange", (self._keys.schedules_due, 0, 0, False, True))])
        return from_ms(first[0][1]) if first else None
