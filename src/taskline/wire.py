"""The wire format of tasks (and queue stats, and workers): the JSON the API sends, and its reading back.

Both directions live here so that the server, the clients and the HTTP worker agree by
construction; times are RFC 3339 UTC with milliseconds.
"""

import dataclasses
import functools
from datetime import UTC, datetime
from typing import Any

from taskline.core.measures import COUNTERS
from taskline.core.outcomes import Settled
from taskline.core.schedules import Schedule, schedule_summary
from taskline.core.series import MinuteFigures
from taskline.core.states import TaskState
from taskline.core.task import AttemptError, Lease, QueueStats, Task
from taskline.core.workers import WorkerRecord, WorkerState
from taskline.errors import LeaseLost, NotFound
from taskline.events.types import LAGGED, Event, Lagged

PRIORITY_NAMES = ("low", "normal", "high", "critical")
_QUEUE_COUNTS = ("scheduled", "running", "retrying", "failed", "completed", "cancelled")


def rfc3339(ts: float | None) -> str | None:
    return None if ts is None else _rfc3339(ts)


@functools.lru_cache(maxsize=4096)
def _rfc3339(ts: float) -> str:
    # Cached: a task's times repeat (created = updated at submit; a bulk shares one), and
    # formatting a datetime costs several times a cache hit.
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def task_json(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "type": task.type,
        "queue": task.queue,
        "payload": task.payload,
        "priority": task.priority,
        "max_retries": task.max_retries,
        "timeout": task.timeout,
        "scheduled_at": rfc3339(task.scheduled_at),
        "unique_key": task.unique_key,
        "unique_ttl": task.unique_ttl,
        "metadata": task.metadata,
        "webhook": task.webhook,
        "state": task.state.value,
        "attempts": task.attempts,
        "result": task.result,
        "error": task.error,
        "errors": [{"attempt": e.attempt, "error": e.error, "at": rfc3339(e.at)} for e in task.errors],
        "progress": task.progress,
        "worker_id": task.worker_id,
        "cancel_requested": task.cancel_requested,
        "webhook_status": task.webhook_status,
        "created_at": rfc3339(task.created_at),
        "updated_at": rfc3339(task.updated_at),
        "started_at": rfc3339(task.started_at),
        "completed_at": rfc3339(task.completed_at),
    }


def lease_json(lease: Lease) -> dict[str, Any]:
    return {**task_json(lease.task), "lease": {"token": lease.token, "expires_at": rfc3339(lease.expires_at)}}


def settled_json(settled: Settled) -> dict[str, Any]:
    """One outcome's fate in `/outcomes`: `{"id", "state"}`, or `{"id", "error": {"code", "message"}}`."""
    if settled.refused is not None:
        return {"id": settled.task_id, "error": {"code": settled.refused.code, "message": settled.refused.message}}
    assert settled.state is not None
    return {"id": settled.task_id, "state": settled.state.value}


_REFUSALS = {error.code: error for error in (NotFound, LeaseLost)}


def settled_from_json(data: dict[str, Any]) -> Settled:
    error = data.get("error")
    if error is not None:
        return Settled(data["id"], refused=_REFUSALS[error["code"]](error["message"]))
    return Settled(data["id"], TaskState(data["state"]))


def from_rfc3339(text: str | None) -> float | None:
    if text is None:
        return None
    return datetime.fromisoformat(text).timestamp()


def task_from_json(data: dict[str, Any]) -> Task:
    """The `Task` a `task_json` dict describes (lease bookkeeping is not on the wire)."""
    return Task(
        id=data["id"],
        type=data["type"],
        queue=data["queue"],
        payload=data["payload"],
        priority=data["priority"],
        max_retries=data["max_retries"],
        timeout=data["timeout"],
        scheduled_at=from_rfc3339(data["scheduled_at"]),
        unique_key=data["unique_key"],
        unique_ttl=data["unique_ttl"],
        metadata=data["metadata"],
        webhook=data["webhook"],
        state=TaskState(data["state"]),
        attempts=data["attempts"],
        result=data["result"],
        error=data["error"],
        errors=[AttemptError(e["attempt"], e["error"], from_rfc3339(e["at"]) or 0.0) for e in data["errors"]],
        progress=data["progress"],
        worker_id=data["worker_id"],
        cancel_requested=data["cancel_requested"],
        webhook_status=data["webhook_status"],
        created_at=from_rfc3339(data["created_at"]) or 0.0,
        updated_at=from_rfc3339(data["updated_at"]) or 0.0,
        started_at=from_rfc3339(data["started_at"]),
        completed_at=from_rfc3339(data["completed_at"]),
    )


def lease_from_json(data: dict[str, Any]) -> Lease:
    lease = data["lease"]
    return Lease(task_from_json(data), lease["token"], from_rfc3339(lease["expires_at"]) or 0.0)


def queue_json(queue: QueueStats) -> dict[str, Any]:
    return {
        "name": queue.name,
        "paused": queue.paused,
        "pending": dict(zip(PRIORITY_NAMES, queue.pending, strict=True)),
        **{state: getattr(queue, state) for state in _QUEUE_COUNTS},
    }


def queue_from_json(data: dict[str, Any]) -> QueueStats:
    return QueueStats(
        name=data["name"],
        paused=data["paused"],
        pending=[data["pending"][name] for name in PRIORITY_NAMES],
        **{state: data[state] for state in _QUEUE_COUNTS},
    )


def worker_json(worker: WorkerRecord) -> dict[str, Any]:
    """A worker as `/admin/workers` shows it (SPEC §3); `queues` or `types` empty means any."""
    return {
        "id": worker.id,
        "host": worker.host,
        "pid": worker.pid,
        "queues": worker.queues,
        "types": worker.types,
        "concurrency": worker.concurrency,
        "active": worker.active,
        "processed": worker.processed,
        "failed": worker.failed,
        "state": worker.state.value,
        "started_at": rfc3339(worker.started_at),
        "last_seen": rfc3339(worker.last_seen),
    }


def worker_from_json(data: dict[str, Any]) -> WorkerRecord:
    return WorkerRecord(
        id=data["id"],
        host=data["host"],
        pid=data["pid"],
        queues=data["queues"],
        types=data["types"],
        concurrency=data["concurrency"],
        active=data["active"],
        processed=data["processed"],
        failed=data["failed"],
        state=WorkerState(data["state"]),
        started_at=from_rfc3339(data["started_at"]) or 0.0,
        last_seen=from_rfc3339(data["last_seen"]) or 0.0,
    )


_NOT_IN_SUMMARY = ("payload", "result", "metadata", "errors")


def task_summary_json(task: Task) -> dict[str, Any]:
    """A task as an event carries it: `task_json` without payload, result, metadata and errors."""
    data = task_json(task)
    for name in _NOT_IN_SUMMARY:
        del data[name]
    return data


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    """A schedule as `GET /api/v1/schedules/{name}` shows it (SPEC §10)."""
    definition = schedule.definition
    return {
        "name": definition.name,
        "cron": definition.cron,
        "every": _seconds(definition.every),
        "timezone": definition.timezone,
        "task": definition.task,
        "paused": schedule.paused,
        "created_at": rfc3339(schedule.created_at),
        "updated_at": rfc3339(schedule.updated_at),
        "next_run_at": rfc3339(schedule.next_run_at),
        "last_run_at": rfc3339(schedule.last_run_at),
        "last_task_id": schedule.last_task_id,
    }


def _seconds(every: float | None) -> float | int | None:
    """60, not 60.0: an interval as it was most likely written."""
    return int(every) if every is not None and every.is_integer() else every


def event_json(event: Event | Lagged) -> dict[str, Any]:
    """One `/ws` message (SPEC §3): `{"id", "event", "ts", "task" | "worker" | "schedule"}` (a
    `schedule.fired` has both `schedule` and `task`), or `{"event": "lagged", "ts"}`."""
    if isinstance(event, Lagged):
        return {"event": LAGGED, "ts": rfc3339(event.ts)}
    data: dict[str, Any] = {"id": event.id, "event": event.name.value, "ts": rfc3339(event.ts)}
    if event.schedule is not None:
        data["schedule"] = schedule_json(schedule_summary(event.schedule))  # the backends reduce it already
    if event.task is not None:
        data["task"] = task_summary_json(event.task)
    if event.worker is not None:
        data["worker"] = worker_json(event.worker)
    return data


def minute_json(figures: MinuteFigures) -> dict[str, Any]:
    """One entry of `GET /api/v1/stats/series`: counts and times are null for a minute no
    sample covers, which is not the same as zero."""
    counts, durations = figures.counts, figures.durations
    return {
        "start": rfc3339(figures.start),
        **{counter: None if counts is None else counts[counter] for counter in COUNTERS},
        "wait_s": None if durations is None else dataclasses.asdict(durations["wait"]),
        "run_s": None if durations is None else dataclasses.asdict(durations["run"]),
    }
