"""The one encoding of a task record in Redis, and the ms conversions the scripts work in.

A record is a JSON object without the id and queue (the hash key and field say those).
Payload, result, metadata and webhook_status are stored as JSON *strings* so that Lua's cjson,
which decodes records to update them, carries user data through untouched. Fields holding
their default are left out: records stay small and never contain null, which cjson would
turn into a truthy value.
"""

import uuid
from typing import Any

import orjson

from taskline.core.states import TaskState
from taskline.core.task import AttemptError, Task

_DEFAULTS = Task(id="", type="")


def text(value: bytes | str) -> str:
    """A Redis reply as text (replies are bytes unless the client decodes them)."""
    return value.decode() if isinstance(value, bytes) else value


def to_ms(seconds: float) -> int:
    """Seconds (domain time) to the integer milliseconds stored in Redis."""
    return round(seconds * 1000)


def from_ms(ms: float) -> float:
    return ms / 1000


def encode_json(value: Any) -> str:
    """User data as compact JSON text, ready to sit inside a record or an ARGV."""
    return orjson.dumps(value).decode()


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


UNSHOWN = ("payload", "result", "metadata", "errors", "lease_token")
"""Record fields a big record's event leaves out: user data, and the fencing token."""


SMALL_RECORD_BYTES = 2048
"""An event carries the record as saved when it is at most this long (no work for Lua), else
the record without the UNSHOWN fields, so a big payload never fills the event streams."""


def encode_task(task: Task) -> str:
    """The record stored for `task`. The fields Lua reads unconditionally are always present."""
    record: dict[str, Any] = {
        "type": task.type,
        "state": task.state.value,
        "priority": task.priority,
        "timeout_ms": to_ms(task.timeout),
        "created_ms": to_ms(task.created_at),
        "updated_ms": to_ms(task.updated_at),
        "due_ms": to_ms(task.due_at),
    }
    empty_payload = type(task.payload) is dict and not task.payload
    record |= _present(
        {
            "payload": None if empty_payload else encode_json(task.payload),
            "metadata": encode_json(task.metadata) if task.metadata else None,
            "result": None if task.result is None else encode_json(task.result),
            "webhook_status": None if task.webhook_status is None else encode_json(task.webhook_status),
        }
    )
    record |= _present(
        {
            name: None if seconds is None else to_ms(seconds)
            for name, seconds in (
                ("scheduled_ms", task.scheduled_at),
                ("started_ms", task.started_at),
                ("completed_ms", task.completed_at),
                ("lease_expires_ms", task.lease_expires_at),
            )
        }
    )
    record |= _present(
        {
            "max_retries": None if task.max_retries == _DEFAULTS.max_retries else task.max_retries,
            "unique_key": task.unique_key,
            # Lua reads the ttl on a unique-key hit, so it is stored whenever a key is.
            "unique_ttl": None if task.unique_key is None else task.unique_ttl,
            "webhook": task.webhook,
            "attempts": task.attempts or None,
            "error": task.error,
            "errors": [{"attempt": e.attempt, "error": e.error, "at_ms": to_ms(e.at)} for e in task.errors] or None,
            "progress": None if task.progress is None else repr(task.progress),
            "worker_id": task.worker_id,
            "cancel_requested": True if task.cancel_requested else None,
            "lease_token": task.lease_token,
            "retry_base": task.retry_base or None,
        }
    )
    return encode_json(record)


def _optional_s(record: dict[str, Any], name: str) -> float | None:
    ms = record.get(name)
    return None if ms is None else from_ms(ms)


def _optional_json(record: dict[str, Any], name: str, default: Any = None) -> Any:
    text = record.get(name)
    return default if text is None else orjson.loads(text)


def decode_task(task_id: str, queue: str, raw: str | bytes) -> Task:
    """The Task a stored record describes (the inverse of `encode_task`)."""
    record: dict[str, Any] = orjson.loads(raw)
    progress = record.get("progress")
    return Task(
        id=task_id,
        type=record["type"],
        queue=queue,
        payload=_optional_json(record, "payload", {}),
        priority=int(record["priority"]),
        max_retries=int(record.get("max_retries", _DEFAULTS.max_retries)),
        timeout=from_ms(record["timeout_ms"]),
        scheduled_at=_optional_s(record, "scheduled_ms"),
        unique_key=record.get("unique_key"),
        unique_ttl=int(record.get("unique_ttl", _DEFAULTS.unique_ttl)),
        metadata=_optional_json(record, "metadata", {}),
        webhook=record.get("webhook"),
        state=TaskState(record["state"]),
        attempts=int(record.get("attempts", 0)),
        result=_optional_json(record, "result"),
        error=record.get("error"),
        errors=[AttemptError(int(e["attempt"]), e["error"], from_ms(e["at_ms"])) for e in record.get("errors", [])],
        progress=None if progress is None else float(progress),
        worker_id=record.get("worker_id"),
        cancel_requested=bool(record.get("cancel_requested", False)),
        webhook_status=_optional_json(record, "webhook_status"),
        created_at=from_ms(record["created_ms"]),
        updated_at=from_ms(record["updated_ms"]),
        started_at=_optional_s(record, "started_ms"),
        completed_at=_optional_s(record, "completed_ms"),
        due_at=from_ms(record["due_ms"]),
        lease_token=record.get("lease_token"),
        lease_expires_at=_optional_s(record, "lease_expires_ms"),
        retry_base=int(record.get("retry_base", 0)),
    )


def log_id(task_id: str) -> str:
    """The creation-log stream id for a task id, ordered as the ids are.

    UUIDv7 = 48-bit ms, 12-bit counter, 62 random bits. The stream id keeps the ms and packs
    the counter with the top 40 random bits into a 52-bit sequence (exact in a Lua double),
    so log order is id order and two queues' entries never tie.
    """
    value = uuid.UUID(task_id).int
    ms = value >> 80
    sequence = ((value >> 64) & 0xFFF) << 40 | (value & ((1 << 62) - 1)) >> 22
    return f"{ms}-{sequence}"


def parse_log_id(text: str) -> tuple[int, int]:
    """A stream id as a sortable pair; ValueError if it isn't one."""
    ms, _, sequence = text.partition("-")
    return int(ms), int(sequence)
