"""The engine's tunables, as plain values: the backends' view of Settings."""

from dataclasses import dataclass, field

from taskline.core.backoff import Backoff


@dataclass(slots=True, frozen=True)
class EngineConfig:
    lease_s: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)
    priority_aging_s: float = 0.0
    max_queue_size: int = 1_000_000
    retention_s: float = 604800.0
    dlq_retention_s: float = 2592000.0
    redis_wait_replicas: int = 0
    """Replicas a Redis write of a submit, complete or fail must reach (WAIT) before it is acknowledged."""
    # PostgreSQL history is on (TASKLINE_POSTGRES_URL): every end of a task also writes the task
    # to the archive outbox, in the same atomic step, for the archiver to copy.
    archive: bool = False
