"""Periodic schedules on SQLite: the `schedules` table, its row codec, and the operations on it.

Writes are `Writer` operations (one savepoint each), so a replace reads and writes the row in
one transaction; reads run on the `Reader`'s connection. Each write announces what it changed
(schedule.created, .updated, .deleted, .paused, .resumed, .fired).
"""

import sqlite3

import orjson

from taskline.backends.sqlite.queries import QUERIES as Q
from taskline.backends.sqlite.records import to_ms
from taskline.backends.sqlite.writer import Wakeups
from taskline.core import schedules as model
from taskline.core.schedules import Schedule, ScheduleDefinition
from taskline.core.task import Task
from taskline.events.types import EventName


def _at(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _decode(row: sqlite3.Row) -> Schedule:
    return Schedule(
        definition=model.definition_from_json(orjson.loads(row["definition"])),
        paused=bool(row["paused"]),
        created_at=row["created_ms"] / 1000,
        updated_at=row["updated_ms"] / 1000,
        next_run_at=_at(row["next_run_ms"]),
        last_run_at=_at(row["last_run_ms"]),
        last_task_id=row["last_task_id"],
    )


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else to_ms(seconds)


def put(
    conn: sqlite3.Connection, wakeups: Wakeups, *, definition: ScheduleDefinition, now: float
) -> tuple[Schedule, bool]:
    """Create the schedule, or replace an existing one's definition (core.schedules.replaced)."""
    before = conn.execute(Q.get_schedule, (definition.name,)).fetchone()
    wanted = model.replaced(None if before is None else _decode(before), definition, now)
    row = conn.execute(
        Q.put_schedule,
        {
            "name": wanted.name,
            "definition": orjson.dumps(model.definition_json(definition)).decode(),
            "paused": int(wanted.paused),
            "created_ms": to_ms(wanted.created_at),
            "updated_ms": to_ms(wanted.updated_at),
            "next_run_ms": _ms(wanted.next_run_at),
            "last_run_ms": _ms(wanted.last_run_at),
            "last_task_id": wanted.last_task_id,
        },
    ).fetchone()
    schedule = _decode(row)
    wakeups.timers = True  # the scheduler may be asleep past this schedule's first tick
    wakeups.announce(EventName.SCHEDULE_CREATED if before is None else EventName.SCHEDULE_UPDATED, schedule)
    return schedule, before is None


def get(conn: sqlite3.Connection, *, name: str) -> Schedule | None:
    row = conn.execute(Q.get_schedule, (name,)).fetchone()
    return None if row is None else _decode(row)


def all_schedules(conn: sqlite3.Connection) -> list[Schedule]:
    return [_decode(row) for row in conn.execute(Q.all_schedules)]


def delete(conn: sqlite3.Connection, wakeups: Wakeups, *, name: str) -> bool:
    row = conn.execute(Q.delete_schedule, (name,)).fetchone()
    if row is None:
        return False
    wakeups.announce(EventName.SCHEDULE_DELETED, _decode(row))
    return True


def set_paused(conn: sqlite3.Connection, wakeups: Wakeups, *, name: str, paused: bool, now: float) -> Schedule | None:
    """Pause, or resume with the next run computed from `now` (ticks during a pause are not
    made up); a schedule already in that state is returned unchanged."""
    before = conn.execute(Q.get_schedule, (name,)).fetchone()
    if before is None:
        return None
    schedule = _decode(before)
    if schedule.paused == paused:
        return schedule
    next_run = None if paused else model.next_tick(schedule.definition, now)
    params = {"name": name, "paused": int(paused), "next_run_ms": _ms(next_run), "updated_ms": to_ms(now)}
    schedule = _decode(conn.execute(Q.set_schedule_paused, params).fetchone())
    if not paused:
        wakeups.timers = True
    wakeups.announce(EventName.SCHEDULE_PAUSED if paused else EventName.SCHEDULE_RESUMED, schedule)
    return schedule


def due(conn: sqlite3.Connection, *, now_ms: int, limit: int) -> list[Schedule]:
    return [_decode(row) for row in conn.execute(Q.due_schedules, (now_ms, limit))]


def advance(
    conn: sqlite3.Connection,
    wakeups: Wakeups,
    *,
    name: str,
    due_at: float,
    next_run_at: float | None,
    ran_at: float,
    task: Task | None,
) -> bool:
    params = {
        "name": name,
        "due_ms": to_ms(due_at),
        "next_run_ms": _ms(next_run_at),
        "last_run_ms": to_ms(ran_at),
        "last_task_id": None if task is None else task.id,
    }
    row = conn.execute(Q.advance_schedule, params).fetchone()
    if row is None:
        return False  # another scheduler advanced it first, or it was paused, replaced or deleted
    if task is not None:
        wakeups.announce(EventName.SCHEDULE_FIRED, _decode(row), task=task)
    return True


def next_run(conn: sqlite3.Connection) -> float | None:
    (ms,) = conn.execute(Q.next_schedule).fetchone()
    return _at(ms)
