"""The one mapping between `Task` and a `tasks` row: float seconds ↔ integer ms, values ↔ JSON."""

import sqlite3
from typing import Any

import orjson

from taskline.core.priority import order_key
from taskline.core.states import TaskState
from taskline.core.task import AttemptError, Task


def to_ms(seconds: float) -> int:
    """Seconds to integer ms, rounded so that 1.001 s stays 1001 ms despite binary floats."""
    return round(seconds * 1000)


def _ms_or_none(seconds: float | None) -> int | None:
    return None if seconds is None else to_ms(seconds)


def _seconds_or_none(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def encode(task: Task, *, aging_s: float) -> dict[str, Any]:
    """Column values for `task`, named as the placeholders of insert_task and save_task."""
    due_ms = to_ms(task.due_at)
    return {
        "id": task.id,
        "type": task.type,
        "queue": task.queue,
        "payload": _json(task.payload),
        "priority": task.priority,
        "max_retries": task.max_retries,
        "timeout": task.timeout,
        "scheduled_ms": _ms_or_none(task.scheduled_at),
        "unique_key": task.unique_key,
        "unique_ttl": task.unique_ttl,
        "metadata": _json(task.metadata),
        "webhook": task.webhook,
        "state": task.state.value,
        "attempts": task.attempts,
        "result": _json(task.result),
        "error": task.error,
        "errors": _json([{"attempt": e.attempt, "error": e.error, "at_ms": to_ms(e.at)} for e in task.errors]),
        "progress": task.progress,
        "worker_id": task.worker_id,
        "cancel_requested": int(task.cancel_requested),
        "webhook_status": _json(task.webhook_status),
        "created_ms": to_ms(task.created_at),
        "updated_ms": to_ms(task.updated_at),
        "started_ms": _ms_or_none(task.started_at),
        "completed_ms": _ms_or_none(task.completed_at),
        "due_ms": due_ms,
        "order_key": order_key(task.priority, due_ms, aging_s),
        "lease_token": task.lease_token,
        "lease_expires_ms": _ms_or_none(task.lease_expires_at),
        "retry_base": task.retry_base,
    }


def decode(row: sqlite3.Row | dict[str, Any]) -> Task:
    """The `Task` a `SELECT *` (or `RETURNING *`) row holds, or the dict of its JSON (the outbox's copy)."""
    return Task(
        id=row["id"],
        type=row["type"],
        queue=row["queue"],
        payload=orjson.loads(row["payload"]),
        priority=row["priority"],
        max_retries=row["max_retries"],
        # REAL columns: SQLite keeps a whole 300.0 as the integer 300, and RETURNING hands that
        # back as an int, so the wire would say 300 here and 300.0 from a SELECT (and on Redis).
        timeout=float(row["timeout"]),
        scheduled_at=_seconds_or_none(row["scheduled_ms"]),
        unique_key=row["unique_key"],
        unique_ttl=row["unique_ttl"],
        metadata=orjson.loads(row["metadata"]),
        webhook=row["webhook"],
        state=TaskState(row["state"]),
        attempts=row["attempts"],
        result=orjson.loads(row["result"]),
        error=row["error"],
        errors=[AttemptError(e["attempt"], e["error"], e["at_ms"] / 1000) for e in orjson.loads(row["errors"])],
        progress=None if row["progress"] is None else float(row["progress"]),
        worker_id=row["worker_id"],
        cancel_requested=bool(row["cancel_requested"]),
        webhook_status=orjson.loads(row["webhook_status"]),
        created_at=row["created_ms"] / 1000,
        updated_at=row["updated_ms"] / 1000,
        started_at=_seconds_or_none(row["started_ms"]),
        completed_at=_seconds_or_none(row["completed_ms"]),
        due_at=row["due_ms"] / 1000,
        lease_token=row["lease_token"],
        lease_expires_at=_seconds_or_none(row["lease_expires_ms"]),
        retry_base=row["retry_base"],
    )
