"""The worker registry's records: who is working, what it reports, and whether it is paused.

A worker is known by the `worker_id` it polls with. Polls and the worker's own heartbeats
are *sightings*: each refreshes `last_seen`, and a heartbeat also carries the details a worker
knows about itself. `/admin/workers` shows those seen within `SEEN_WITHIN_S`.
"""

from dataclasses import dataclass, field
from enum import StrEnum

SEEN_WITHIN_S = 60.0
"""A worker unseen for this long has left (SPEC §3): it is no longer listed or counted."""

FORGET_AFTER_S = 3600.0
"""Records unseen for this long are deleted; until then a returning worker keeps its pause."""

DEPARTURE_KEPT_S = 300.0
"""How long the time a worker said it left is kept: longer than any request in flight then
can last (a poll waits at most 60 s), so none of them brings the worker back as a ghost."""


class WorkerState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


@dataclass(slots=True, frozen=True)
class WorkerDetails:
    """What a sighting reports about a worker; None leaves the stored value as it is."""

    host: str | None = None
    pid: int | None = None
    queues: list[str] | None = None
    types: list[str] | None = None
    concurrency: int | None = None
    active: int | None = None
    processed: int | None = None
    failed: int | None = None


@dataclass(slots=True)
class WorkerRecord:
    """A worker as the registry holds it. Times are seconds since the Unix epoch."""

    id: str
    host: str | None = None
    pid: int | None = None
    queues: list[str] = field(default_factory=list)  # empty: any queue
    types: list[str] = field(default_factory=list)  # empty: any type
    concurrency: int | None = None
    active: int = 0
    processed: int = 0
    failed: int = 0
    state: WorkerState = WorkerState.ACTIVE
    started_at: float = 0.0
    last_seen: float = 0.0

    @property
    def paused(self) -> bool:
        return self.state is WorkerState.PAUSED
