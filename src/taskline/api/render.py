"""The wire format of responses: tasks and leases as JSON-ready dicts, times in RFC 3339 UTC."""

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from taskline.core.task import Lease, Task


def rfc3339(ts: float | None) -> str | None:
    if ts is None:
        return None
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


class JSONResponse(Response):
    """orjson-encoded JSON: several times faster than the standard library on task bodies."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
