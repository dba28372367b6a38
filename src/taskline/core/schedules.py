"""Periodic schedules (SPEC §10): the record, what a definition may say, and when it ticks.

Pure: no I/O and no clock of its own; every function takes the instant it reasons about.
Times are seconds since the epoch, like every `core` time; ticks fall on whole milliseconds,
since they name the task they submit (`unique_key` `<name>:<tick in RFC 3339, ms>`).

Cron expressions are evaluated by `cronsim`, which follows Debian cron across DST in a time
zone: a job at a fixed wall time (minute and hour fields not starting with `*`) whose time is
skipped (spring forward) runs at the first instant after the gap, and one whose time happens
twice (fall back) runs at its first occurrence only; a job with `*` in the minute or hour field
runs on real elapsed time (an hourly job runs every real hour, both repeated hours included).
`every` ticks are absolute: the multiples of the interval since the Unix epoch (as BullMQ's
`every` aligns them), so every server, and a replaced or resumed schedule, agrees on them.
"""

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from taskline.core.spec import TaskSpec, parse_spec
from taskline.errors import PayloadTooLarge, TasklineError, ValidationFailed

MAX_NAME_CHARS = 128
NAME_RE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_NAME_CHARS - 1}}}")  # fullmatch: no newline slips past a `$`
FIELDS = frozenset({"name", "cron", "every", "timezone", "task"})
REFUSED_TASK_FIELDS = ("unique_key", "unique_ttl", "scheduled_at", "delay")
"""Set by the schedule for each tick; a task spec that names one is refused (422)."""
MAX_EVERY_S = 366 * 86400
MIN_UNIQUE_TTL_S = 60
MAX_UNIQUE_TTL_S = 86400
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True, slots=True)
class ScheduleDefinition:
    """What `POST /api/v1/schedules` says: exactly one of `cron` and `every` (seconds).

    `task` is the task spec as stored: the submit body's fields with defaults filled in
    (`task_body`), without the ones each tick sets (REFUSED_TASK_FIELDS).
    """

    name: str
    cron: str | None
    every: float | None
    timezone: str
    task: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Schedule:
    """A stored schedule. `next_run_at` is None while paused."""

    definition: ScheduleDefinition
    paused: bool
    created_at: float
    updated_at: float
    next_run_at: float | None
    last_run_at: float | None = None
    last_task_id: str | None = None

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def queue(self) -> str:
        """The queue its tasks go to (what `/ws?queue=` matches)."""
        return str(self.definition.task.get("queue", "default"))


@dataclass(slots=True)
class _Problems:
    items: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.items.append({"field": name, "message": message})


def task_body(spec: TaskSpec) -> dict[str, Any]:
    """The task spec as a schedule stores it and shows it: the submit body, defaults filled."""
    return {
        "type": spec.type,
        "queue": spec.queue,
        "payload": spec.payload,
        "priority": spec.priority,
        "max_retries": spec.max_retries,
        "timeout": spec.timeout,
        "metadata": spec.metadata,
        "webhook": spec.webhook,
    }


def parse_definition(
    data: object, *, now: float, max_payload_bytes: int, allow_private_webhooks: bool = False
) -> ScheduleDefinition:
    """Validate a schedule's definition; the task as `POST /api/v1/tasks` validates a body,
    its fields named `task.<field>`.

    Raises:
        ValidationFailed: details lists `{"field", "message"}` for every broken rule.
        PayloadTooLarge: the task's payload or metadata is over its limit.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed("a schedule must be a JSON object", [{"field": "", "message": "must be an object"}])
    problems = _Problems()
    for key in data:
        if key not in FIELDS:
            problems.add(key, "is not a field a schedule may be defined with")
    name = data.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        problems.add("name", "must be 1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit")
    timezone = data.get("timezone")
    if timezone is None:
        timezone = "UTC"
    elif not isinstance(timezone, str) or _zone(timezone) is None:
        problems.add("timezone", "must be an IANA time zone name, like Europe/Berlin or UTC")
    cron, every = _timing(problems, data.get("cron"), data.get("every"))
    task = _task(problems, data.get("task"), now, max_payload_bytes, allow_private_webhooks)
    if problems.items:
        raise ValidationFailed("the schedule is not valid", problems.items)
    assert isinstance(name, str)
    assert isinstance(timezone, str)
    assert task is not None
    definition = ScheduleDefinition(name=name, cron=cron, every=every, timezone=timezone, task=task)
    if cron is not None and next_tick(definition, now) is None:
        raise ValidationFailed("the schedule never fires", [{"field": "cron", "message": "matches no time"}])
    return definition


def _timing(problems: _Problems, cron: object, every: object) -> tuple[str | None, float | None]:
    if (cron is None) == (every is None):
        problems.add("cron", "exactly one of cron and every is required")
        return None, None
    if every is not None:
        ok = isinstance(every, int | float) and not isinstance(every, bool) and math.isfinite(every)
        if not ok or not 1 <= every <= MAX_EVERY_S:  # type: ignore[operator]
            problems.add("every", f"must be a number of seconds from 1 to {MAX_EVERY_S}")
            return None, None
        return None, float(every)  # type: ignore[arg-type]
    if not isinstance(cron, str) or not cron.strip() or len(cron) > 256:
        problems.add("cron", "must be a cron expression of 5 fields, or @hourly, @daily, @weekly, @monthly, @yearly")
        return None, None
    if len(_expression(cron).split()) != 5:  # cronsim would take a sixth field, seconds
        problems.add("cron", "must have 5 fields (minute hour day-of-month month day-of-week), or be @daily and such")
        return None, None
    try:
        CronSim(_expression(cron), datetime(2000, 1, 1, tzinfo=UTC))
    except (CronSimError, ValueError, IndexError) as exc:
        problems.add("cron", f"is not a valid cron expression ({exc or 'bad field'}); 5 fields, or @daily and such")
        return None, None
    return cron, None


def _task(
    problems: _Problems, data: object, now: float, max_payload_bytes: int, allow_private_webhooks: bool
) -> dict[str, Any] | None:
    if not isinstance(data, Mapping):
        problems.add("task", "is required: the task each tick submits, as POST /api/v1/tasks takes it")
        return None
    refused = [key for key in REFUSED_TASK_FIELDS if key in data]  # even as null: the schema has no such field
    for key in refused:
        problems.add(f"task.{key}", "is set by the schedule for each tick")
    try:
        spec = parse_spec(
            {k: v for k, v in data.items() if k not in refused},
            now=now,
            max_payload_bytes=max_payload_bytes,
            allow_private_webhooks=allow_private_webhooks,
        )
    except (ValidationFailed, PayloadTooLarge) as exc:
        if isinstance(exc, PayloadTooLarge) and not problems.items:
            raise _prefixed(exc) from None
        problems.items += _prefixed(exc).details
        return None
    return task_body(spec)


def _prefixed(exc: TasklineError) -> TasklineError:
    details = [
        {"message": exc.message, **d, "field": f"task.{d['field']}" if d.get("field") else "task"}
        for d in exc.details or []
    ]
    return type(exc)(f"task: {exc.message}", details)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _expression(cron: str) -> str:
    return MACROS.get(cron.strip().lower(), cron)


def next_tick(definition: ScheduleDefinition, after: float) -> float | None:
    """The first tick strictly after `after`, or None for a cron that matches no time in the
    next 50 years (parse_definition refuses those)."""
    if definition.every is not None:
        every_ms = round(definition.every * 1000)
        return (math.floor(after * 1000) // every_ms + 1) * every_ms / 1000
    assert definition.cron is not None
    zone = ZoneInfo(definition.timezone)
    start = datetime.fromtimestamp(after, zone)
    ticks = CronSim(_expression(definition.cron), start)
    for _ in range(1000):
        try:
            tick = next(ticks).timestamp()
        except StopIteration:
            return None
        # A fixed-time job is walked in wall time: starting inside a repeated hour, its first
        # match may be the earlier occurrence, already past.
        if tick > after:
            return tick
    return None


def latest_tick(definition: ScheduleDefinition, due: float, now: float) -> float:
    """The latest tick at or before `now`, given that `due` (<= now) is a tick: the one a
    scheduler submits for a schedule whose ticks it missed (SPEC §10: once, not per tick)."""
    if definition.every is not None:
        every_ms = round(definition.every * 1000)
        return max(due, (math.floor(now * 1000) // every_ms) * every_ms / 1000)
    # Walk forward from a window before `now`, widening it until it holds a tick: a cron
    # down for a year costs a few windows, not a walk over every minute of it.
    window = 3600.0
    while True:
        start = max(due - 0.001, now - window)
        tick = next_tick(definition, start)
        if tick is not None and tick <= now:
            while (following := next_tick(definition, tick)) is not None and following <= now:
                tick = following
            return tick
        if start <= due - 0.001:
            return due
        window *= 24


def unique_ttl(definition: ScheduleDefinition, tick: float) -> int:
    """The `unique_ttl` of a tick's task: at least its period and 60 s, at most a day, so a
    second scheduler racing on the same tick finds the first one's key."""
    following = next_tick(definition, tick)
    period = MAX_UNIQUE_TTL_S if following is None else math.ceil(following - tick)
    return min(max(period, MIN_UNIQUE_TTL_S), MAX_UNIQUE_TTL_S)


def tick_spec(schedule: Schedule, tick: float, tick_text: str) -> TaskSpec:
    """The task one tick submits: the stored spec, its `unique_key` `<name>:<tick_text>`
    (`tick_text` the tick in RFC 3339, as `taskline.wire.rfc3339` writes it)."""
    task = schedule.definition.task
    return TaskSpec(
        type=task["type"],
        queue=task["queue"],
        payload=task["payload"],
        priority=task["priority"],
        max_retries=task["max_retries"],
        timeout=task["timeout"],
        unique_key=f"{schedule.name}:{tick_text}",
        unique_ttl=unique_ttl(schedule.definition, tick),
        metadata=task["metadata"],
        webhook=task["webhook"],
    )


def timing(definition: ScheduleDefinition) -> list[Any]:
    """What decides when a schedule ticks: a replace that keeps it keeps the next run."""
    return [definition.cron, definition.every, definition.timezone]


def replaced(existing: Schedule | None, definition: ScheduleDefinition, now: float) -> Schedule:
    """The schedule a `POST` leaves: new, or `existing` with its definition replaced (paused
    state, created_at and last run kept). The next run: none while paused; the stored one when
    the timing is unchanged, so a tick due but not yet fired (every server down, scheduler lag)
    still fires and a deploy script may declare its schedules on every run; else the first tick
    after now."""
    if existing is None:
        first = next_tick(definition, now)
        return Schedule(definition, paused=False, created_at=now, updated_at=now, next_run_at=first)
    if existing.paused:
        next_run = None
    elif existing.next_run_at is not None and timing(existing.definition) == timing(definition):
        next_run = existing.next_run_at
    else:
        next_run = next_tick(definition, now)
    return Schedule(
        definition,
        paused=existing.paused,
        created_at=existing.created_at,
        updated_at=now,
        next_run_at=next_run,
        last_run_at=existing.last_run_at,
        last_task_id=existing.last_task_id,
    )


SUMMARY_TASK_FIELDS = ("type", "queue", "priority")
"""What a schedule's event shows of its task: no payload, metadata or webhook, so the event log
stays small whatever the task carries, as a task's events do (events/types.py `Event`)."""


def summary_definition(definition: ScheduleDefinition) -> ScheduleDefinition:
    """The definition as a schedule's event carries it: its task reduced to SUMMARY_TASK_FIELDS."""
    task = {key: definition.task[key] for key in SUMMARY_TASK_FIELDS if key in definition.task}
    return dataclasses.replace(definition, task=task)


def schedule_summary(schedule: Schedule) -> Schedule:
    """The schedule as its events carry it (`summary_definition`)."""
    return dataclasses.replace(schedule, definition=summary_definition(schedule.definition))


def definition_json(definition: ScheduleDefinition) -> dict[str, Any]:
    """The definition as stored (JSON-able): what the backends keep beside the run state."""
    return {
        "name": definition.name,
        "cron": definition.cron,
        "every": definition.every,
        "timezone": definition.timezone,
        "task": definition.task,
    }


def definition_from_json(data: Mapping[str, Any]) -> ScheduleDefinition:
    return ScheduleDefinition(
        name=data["name"], cron=data["cron"], every=data["every"], timezone=data["timezone"], task=dict(data["task"])
    )
