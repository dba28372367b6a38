"""The one encoding of a task record in Redis, and the ms conversions the scripts work in.

A record is a msgpack array without field names and without the id and queue (the hash key
and field say those): position i holds RECORD_FIELDS[i], nil where the field holds its
default, and the trailing nils are left off. `_lib.lua` (load_task/save_task) reads and
writes the same layout through Lua that scripts.py writes from the constants below
(`record_layout`), so the scripts see a table with these field names and no other code
knows the bytes.

- The state is its index in STATES; the times in SINCE_CREATED are stored as ms after
  created_ms (small numbers take fewer bytes than a second epoch time).
- Payload, result, metadata and webhook_status are JSON *text* inside the record, so the
  scripts carry user data through untouched (Lua would turn `[]` into `{}` and round big
  integers) and the API hands it on as it came.
- errors holds [attempt, error, at_ms] triples.
"""

import uuid
from typing import Any

import orjson
import ormsgpack

from taskline.core.states import TaskState
from taskline.core.task import AttemptError, Task

FORMAT_VERSION = 2
"""The record layout this code reads and writes (1: JSON objects with field names). Stored in
Redis on first start and checked at every start (see format.py): bump it with any change below."""

RECORD_FIELDS = (
    # Always present.
    "type", "state", "priority", "timeout_ms", "created_ms", "updated_ms", "due_ms",
    # Then roughly in the order a task's life sets them, so a young task's record ends early.
    "payload", "attempts", "started_ms", "lease_token", "lease_expires_ms", "worker_id",
    "completed_ms", "result", "scheduled_ms", "max_retries", "unique_key", "unique_ttl",
    "webhook", "metadata", "webhook_status", "error", "errors", "progress", "cancel_requested",
    "retry_base",
)  # fmt: skip
"""The record's positions: never reorder, only append (and bump FORMAT_VERSION)."""

STATES = (
    TaskState.PENDING,
    TaskState.SCHEDULED,
    TaskState.RUNNING,
    TaskState.RETRYING,
    TaskState.COMPLETED,
    TaskState.FAILED,
    TaskState.CANCELLED,
)
"""A state is stored as its index here: never reorder, only append."""

SINCE_CREATED = ("updated_ms", "due_ms", "started_ms", "lease_expires_ms", "completed_ms", "scheduled_ms")
"""Times stored as ms after created_ms."""

_STATE_INDEX = {state: i for i, state in enumerate(STATES)}
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


UNSHOWN = ("payload", "result", "metadata", "errors", "lease_token")
"""Record fields a big record's event leaves out: user data, and the fencing token."""


SMALL_RECORD_BYTES = 2048
"""An event carries the record as saved when it is at most this long (no work for Lua), else
the record without the UNSHOWN fields, so a big payload never fills the event streams."""


def _since(seconds: float | None, created_ms: int) -> int | None:
    return None if seconds is None else to_ms(seconds) - created_ms


def encode_task(task: Task) -> bytes:
    """The record stored for `task`."""
    created_ms = to_ms(task.created_at)
    empty_payload = type(task.payload) is dict and not task.payload
    fields: dict[str, Any] = {
        "type": task.type,
        "state": _STATE_INDEX[task.state],
        "priority": task.priority,
        "timeout_ms": to_ms(task.timeout),
        "created_ms": created_ms,
        "updated_ms": to_ms(task.updated_at) - created_ms,
        "due_ms": to_ms(task.due_at) - created_ms,
        "payload": None if empty_payload else encode_json(task.payload),
        "attempts": task.attempts or None,
        "started_ms": _since(task.started_at, created_ms),
        "lease_token": task.lease_token,
        "lease_expires_ms": _since(task.lease_expires_at, created_ms),
        "worker_id": task.worker_id,
        "completed_ms": _since(task.completed_at, created_ms),
        "result": None if task.result is None else encode_json(task.result),
        "scheduled_ms": _since(task.scheduled_at, created_ms),
        "max_retries": None if task.max_retries == _DEFAULTS.max_retries else task.max_retries,
        "unique_key": task.unique_key,
        # Lua reads the ttl on a unique-key hit, so it is stored whenever a key is; without a key
        # only when not the default, so the task shows the ttl it was submitted with (as on SQLite).
        "unique_ttl": None if task.unique_key is None and task.unique_ttl == _DEFAULTS.unique_ttl else task.unique_ttl,
        "webhook": task.webhook,
        "metadata": encode_json(task.metadata) if task.metadata else None,
        "webhook_status": None if task.webhook_status is None else encode_json(task.webhook_status),
        "error": task.error,
        "errors": [[e.attempt, e.error, to_ms(e.at)] for e in task.errors] or None,
        "progress": None if task.progress is None else repr(task.progress),
        "cancel_requested": True if task.cancel_requested else None,
        "retry_base": task.retry_base or None,
    }
    values = [fields[name] for name in RECORD_FIELDS]
    while values[-1] is None:
        values.pop()
    return ormsgpack.packb(values)


def _json(text: str | None, default: Any = None) -> Any:
    return default if text is None else orjson.loads(text)


def _at(record: dict[str, Any], name: str) -> float | None:
    since = record.get(name)
    return None if since is None else from_ms(record["created_ms"] + since)


def decode_task(task_id: str, queue: str, raw: bytes) -> Task:
    """The Task a stored record describes (the inverse of `encode_task`)."""
    return task_from_values(task_id, queue, ormsgpack.unpackb(raw))


def task_from_values(task_id: str, queue: str, values: list[Any]) -> Task:
    """The Task of a record already unpacked (a webhook delivery nests its record)."""
    record = dict(zip(RECORD_FIELDS, values, strict=False))
    progress = record.get("progress")
    return Task(
        id=task_id,
        type=record["type"],
        queue=queue,
        payload=_json(record.get("payload"), {}),
        priority=record["priority"],
        max_retries=_DEFAULTS.max_retries if record.get("max_retries") is None else record["max_retries"],
        timeout=from_ms(record["timeout_ms"]),
        scheduled_at=_at(record, "scheduled_ms"),
        unique_key=record.get("unique_key"),
        unique_ttl=_DEFAULTS.unique_ttl if record.get("unique_ttl") is None else record["unique_ttl"],
        metadata=_json(record.get("metadata"), {}),
        webhook=record.get("webhook"),
        state=STATES[record["state"]],
        attempts=record.get("attempts") or 0,
        result=_json(record.get("result")),
        error=record.get("error"),
        errors=[AttemptError(attempt, error, from_ms(at_ms)) for attempt, error, at_ms in record.get("errors") or ()],
        progress=None if progress is None else float(progress),
        worker_id=record.get("worker_id"),
        cancel_requested=bool(record.get("cancel_requested")),
        webhook_status=_json(record.get("webhook_status")),
        created_at=from_ms(record["created_ms"]),
        updated_at=from_ms(record["created_ms"] + record["updated_ms"]),
        started_at=_at(record, "started_ms"),
        completed_at=_at(record, "completed_ms"),
        due_at=from_ms(record["created_ms"] + record["due_ms"]),
        lease_token=record.get("lease_token"),
        lease_expires_at=_at(record, "lease_expires_ms"),
        retry_base=record.get("retry_base") or 0,
    )


def log_entry(task_id: str) -> tuple[str, int]:
    """The creation-log entry of a task: its stream id, ordered as the ids are, and its value.

    UUIDv7 = 48-bit ms, 12-bit counter, 62 random bits. The stream id keeps the ms and packs
    the counter with the top 40 random bits into a 52-bit sequence; the value is the low 22
    random bits, a small integer where the whole id would take 36 bytes. Every part is below
    2^53, so _lib.lua's logged_task_id gives the id back exactly. Made here, not in Lua, so
    Redis (which every client shares) does not spend its time parsing hex.
    """
    value = uuid.UUID(task_id).int
    return _log_id(value), value & ((1 << 22) - 1)


def _log_id(value: int) -> str:
    """The creation-log stream id of the 128-bit id `value` (see log_entry)."""
    sequence = ((value >> 64) & 0xFFF) << 40 | (value & ((1 << 62) - 1)) >> 22
    return f"{value >> 80}-{sequence}"


def log_range(prefix: str) -> tuple[str, str]:
    """The creation-log ids between which every task id starting with `prefix` (a canonical id's
    start) is logged: those of the prefix padded with 0s and with fs. Each part of a log id only
    grows with the id, so whatever the padded digits stand for, no id with the prefix falls outside."""
    digits = prefix.replace("-", "")
    return _log_id(int(digits.ljust(32, "0"), 16)), _log_id(int(digits.ljust(32, "f"), 16))


def parse_log_id(text: str) -> tuple[int, int]:
    """A creation-log stream id (log_entry) as a sortable pair; ValueError if it isn't one."""
    ms, _, sequence = text.partition("-")
    return int(ms), int(sequence)
