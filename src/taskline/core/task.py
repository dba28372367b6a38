"""The task record and the small value types the backends take and return.

Times in the domain are float seconds since the Unix epoch; backends store integer ms.
"""

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from taskline.core.states import TaskState

if TYPE_CHECKING:
    from taskline.core.spec import TaskSpec


@dataclass(slots=True, frozen=True)
class AttemptError:
    """One failed attempt, as kept in `Task.errors`."""

    attempt: int
    error: str
    at: float


@dataclass(slots=True)
class Task:
    """A task as stored: the submitted fields, the server-set fields, and lease bookkeeping."""

    id: str
    type: str
    queue: str = "default"
    payload: Any = field(default_factory=dict)
    priority: int = 1
    max_retries: int = 3
    timeout: float = 300.0
    scheduled_at: float | None = None
    unique_key: str | None = None
    unique_ttl: int = 86400
    metadata: dict[str, Any] = field(default_factory=dict)
    webhook: str | None = None
    state: TaskState = TaskState.PENDING
    attempts: int = 0
    result: Any = None
    error: str | None = None
    errors: list[AttemptError] = field(default_factory=list)
    progress: float | None = None
    worker_id: str | None = None
    cancel_requested: bool = False
    webhook_status: dict[str, Any] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None
    completed_at: float | None = None
    # When the task becomes (or became) leasable: submit time, scheduled time, or retry time.
    due_at: float = 0.0
    # Lease bookkeeping, set while running and kept after so a repeated `complete` is recognised.
    lease_token: str | None = None
    lease_expires_at: float | None = None
    # Retries allowed from the last manual retry on: attempts beyond this base count against max_retries.
    retry_base: int = 0

    @property
    def deadline(self) -> float | None:
        """When the current attempt must end (`started_at + timeout`)."""
        return None if self.started_at is None else self.started_at + self.timeout

    @property
    def attempts_since_retry(self) -> int:
        """Attempts made since the last manual retry (all of them if there was none): the
        backoff's attempt number, so a task retried by hand starts again at the base delay."""
        return self.attempts - self.retry_base

    @property
    def may_retry(self) -> bool:
        """Whether a failure of the current attempt leaves a retry (max_retries counts from `retry_base`)."""
        return self.attempts_since_retry <= self.max_retries


TASK_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Task))
"""Every field of a task, in one place: the Task dataclass above, with its defaults. Each codec
(wire.py for HTTP, backends/sqlite/records.py, backends/redis/codec.py with _lib.lua, and
history/rows.py) carries every one of them except those it names below, and the all-fields
round-trip tests (tests/unit/test_task_codecs.py, tests/integration/*/test_record.py) hold each
to that: a field added here and forgotten in a codec fails them."""

NOT_ON_THE_WIRE = frozenset({"due_at", "lease_token", "lease_expires_at", "retry_base"})
"""Lease and retry bookkeeping the server keeps to itself (a lease's token and end go out in
the lease's own `lease` object)."""

NOT_IN_HISTORY = NOT_ON_THE_WIRE | {"worker_id"}
"""What PostgreSQL history does not keep of an ended task: the bookkeeping, and which worker
ran its last attempt (history's due_at reads back as its created_at)."""


@dataclass(slots=True, frozen=True)
class Lease:
    """A leased task and the fencing token its results must carry."""

    task: Task
    token: str
    expires_at: float


@dataclass(slots=True, frozen=True)
class HeartbeatAck:
    expires_at: float
    cancel_requested: bool


@dataclass(slots=True, frozen=True)
class Submitted:
    """The outcome of one submit: the stored task, and False when `unique_key` hit an existing one."""

    task: Task
    created: bool


@dataclass(slots=True, frozen=True)
class TaskFilter:
    state: TaskState | None = None
    type: str | None = None
    queue: str | None = None


Source = Literal["live", "history"]
"""Where tasks are read from: the live backend, or PostgreSQL history (TASKLINE_POSTGRES_URL)."""


@dataclass(slots=True, frozen=True)
class TaskPage:
    tasks: list[Task]
    next_cursor: str | None


@dataclass(slots=True)
class QueueStats:
    """One queue's counts: pending by priority (index 0 = low … 3 = critical), others by state."""

    name: str
    paused: bool = False
    pending: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    scheduled: int = 0
    running: int = 0
    retrying: int = 0
    failed: int = 0
    completed: int = 0
    cancelled: int = 0

    @property
    def queued(self) -> int:
        """Tasks that count against max_queue_size."""
        return sum(self.pending) + self.scheduled + self.retrying


def pending_webhook_status() -> dict[str, Any]:
    """`webhook_status` while a delivery is still to be made (SPEC §6): at submit, and again each
    time the task ends."""
    return {"state": "pending", "attempts": 0, "last_status": None, "last_error": None}


def whole_ms(seconds: float) -> float:
    """`seconds` at the millisecond precision the backends store times in."""
    return round(seconds * 1000) / 1000


def new_task(spec: "TaskSpec", *, task_id: str, now: float) -> Task:
    """The record a submit stores: pending now, or scheduled when `spec.due_at` is ahead.

    Its times are whole milliseconds, as stored, so a backend can answer a submit with this
    task as it is rather than reading back what it has just written.
    """
    now = whole_ms(now)
    spec_due = None if spec.due_at is None else whole_ms(spec.due_at)
    scheduled = spec_due is not None and spec_due > now
    due_at = spec_due if spec_due is not None else now
    return Task(
        id=task_id,
        type=spec.type,
        queue=spec.queue,
        payload=spec.payload,
        priority=spec.priority,
        max_retries=spec.max_retries,
        timeout=spec.timeout,
        scheduled_at=spec_due,
        unique_key=spec.unique_key,
        unique_ttl=spec.unique_ttl,
        metadata=spec.metadata,
        webhook=spec.webhook,
        webhook_status=pending_webhook_status() if spec.webhook else None,
        state=TaskState.SCHEDULED if scheduled else TaskState.PENDING,
        created_at=now,
        updated_at=now,
        due_at=max(due_at, now) if not scheduled else due_at,
    )


@dataclass(slots=True, frozen=True)
class Stats:
    """Tasks per state (`GET /api/v1/stats`) (every state present), their total, live workers."""

    states: dict[TaskState, int]
    total: int
    workers: int
