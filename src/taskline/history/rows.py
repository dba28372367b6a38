"""A task as a row of the history's `tasks` table, and back: the one mapping of the two.

JSON columns (payload, result, errors, metadata, webhook_status) go over the wire as text,
encoded and decoded here with orjson; times as timestamptz (datetime in UTC). PostgreSQL text
cannot hold a NUL character, which a worker's error or a unique key may: it is stored as
U+FFFD rather than stop the archiver on that task for good.
"""

from datetime import UTC, datetime
from typing import Any

import orjson

from taskline.core.states import TaskState
from taskline.core.task import AttemptError, Task

COLUMNS = (
    "id", "type", "queue", "state", "priority", "payload", "result", "error", "errors", "progress",
    "max_retries", "timeout", "scheduled_at", "unique_key", "unique_ttl", "metadata", "webhook",
    "webhook_status", "attempts", "cancel_requested", "created_at", "updated_at", "started_at",
    "completed_at",
)  # fmt: skip
_JSON = frozenset({"payload", "result", "errors", "metadata", "webhook_status"})


def _at(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _seconds(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()  # a NUL inside a string is escaped (\u0000): json takes it


def _text(value: str | None) -> str | None:
    return None if value is None else value.replace("\x00", "\ufffd")


def row_of(task: Task) -> tuple[Any, ...]:
    """The values of COLUMNS for `task`, in order (the parameters of the upsert)."""
    errors = [{"attempt": e.attempt, "error": e.error, "at": e.at} for e in task.errors]
    return (
        task.id,
        task.type,
        task.queue,
        task.state.value,
        task.priority,
        _json(task.payload),
        None if task.result is None else _json(task.result),
        _text(task.error),
        _json(errors),
        task.progress,
        task.max_retries,
        task.timeout,
        _at(task.scheduled_at),
        _text(task.unique_key),
        task.unique_ttl,
        _json(task.metadata),
        _text(task.webhook),
        None if task.webhook_status is None else _json(task.webhook_status),
        task.attempts,
        task.cancel_requested,
        _at(task.created_at),
        _at(task.updated_at),
        _at(task.started_at),
        _at(task.completed_at),
    )


def task_of(row: Any) -> Task:
    """The task a `SELECT <COLUMNS>` row holds (an asyncpg Record, or any mapping)."""
    value = {name: row[name] for name in COLUMNS}
    for name in _JSON:
        if value[name] is not None:
            value[name] = orjson.loads(value[name])
    errors = [AttemptError(attempt=e["attempt"], error=e["error"], at=e["at"]) for e in value["errors"] or []]
    return Task(
        id=value["id"],
        type=value["type"],
        queue=value["queue"],
        payload=value["payload"],
        priority=value["priority"],
        max_retries=value["max_retries"],
        timeout=value["timeout"],
        scheduled_at=_seconds(value["scheduled_at"]),
        unique_key=value["unique_key"],
        unique_ttl=value["unique_ttl"],
        metadata=value["metadata"] or {},
        webhook=value["webhook"],
        state=TaskState(value["state"]),
        attempts=value["attempts"],
        result=value["result"],
        error=value["error"],
        errors=errors,
        progress=value["progress"],
        cancel_requested=value["cancel_requested"],
        webhook_status=value["webhook_status"],
        created_at=_seconds(value["created_at"]) or 0.0,
        updated_at=_seconds(value["updated_at"]) or 0.0,
        started_at=_seconds(value["started_at"]),
        completed_at=_seconds(value["completed_at"]),
        due_at=_seconds(value["created_at"]) or 0.0,
    )
