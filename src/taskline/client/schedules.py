"""A periodic schedule as a client sees it (SPEC §10): `Schedule`, the API's schedule JSON with
its times as `datetime`, and the conversions both ways (the CLI prints `--json` from it)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Schedule:
    """One schedule: exactly one of `cron` and `every` (seconds) is set.

    `task` is the task spec each tick submits, as the server stored it (defaults filled).
    `next_run_at` is None while `paused`; `last_task_id` is the task the latest tick submitted.
    """

    name: str
    cron: str | None
    every: float | None
    timezone: str
    task: dict[str, Any]
    paused: bool
    created_at: datetime
    updated_at: datetime
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_task_id: str | None


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _maybe_time(text: str | None) -> datetime | None:
    return None if text is None else _time(text)


def _text(time: datetime | None) -> str | None:
    # Formatted from the datetime itself: through a float timestamp, .123 can come back as .122.
    return None if time is None else time.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def schedule_from_json(data: dict[str, Any]) -> Schedule:
    """The `Schedule` a schedule JSON object describes."""
    return Schedule(
        name=data["name"],
        cron=data["cron"],
        every=data["every"],
        timezone=data["timezone"],
        task=data["task"],
        paused=data["paused"],
        created_at=_time(data["created_at"]),
        updated_at=_time(data["updated_at"]),
        next_run_at=_maybe_time(data["next_run_at"]),
        last_run_at=_maybe_time(data["last_run_at"]),
        last_task_id=data["last_task_id"],
    )


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    """The schedule JSON object of the API (`schedule_from_json` reads it back unchanged)."""
    return {
        "name": schedule.name,
        "cron": schedule.cron,
        "every": schedule.every,
        "timezone": schedule.timezone,
        "task": schedule.task,
        "paused": schedule.paused,
        "created_at": _text(schedule.created_at),
        "updated_at": _text(schedule.updated_at),
        "next_run_at": _text(schedule.next_run_at),
        "last_run_at": _text(schedule.last_run_at),
        "last_task_id": schedule.last_task_id,
    }
