"""What a chaos run saw, as plain values: the history the checker judges.

Every entry is something a client was told (a submit acknowledged, an outcome accepted, a lease
granted) or saw (a task running at a moment, a webhook received, each task as it ended). What
no client was told is not here: a submit whose answer was lost may or may not exist, and the
checker holds the system only to what it acknowledged.
"""

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["ok", "slow", "flaky", "doomed"]
"""What the task's handler does (tests/chaos/app.py): succeed; succeed after a pause; fail its
first `fail_times` attempts, then succeed; fail for good at once (`taskline.Fail`)."""


@dataclass(slots=True, frozen=True)
class Submitted:
    """A task the API acknowledged (201, or 200 on a unique-key hit), as the client asked for it."""

    id: str
    kind: Kind
    max_retries: int
    webhook: bool = False
    scheduled_at: float | None = None


@dataclass(slots=True, frozen=True)
class Leased:
    """A lease a worker was handed: `attempt` is the task's attempt count with this lease."""

    task_id: str
    token: str
    attempt: int


@dataclass(slots=True, frozen=True)
class Heartbeat:
    """A worker sent a heartbeat for a lease at `at` (written before sending: the lease it asks
    for ends no later than `at` + the lease, plus the time the request took)."""

    task_id: str
    token: str
    at: float


@dataclass(slots=True, frozen=True)
class Accepted:
    """An outcome the server accepted: `complete` or `fail`, and the state it left the task in."""

    task_id: str
    token: str
    outcome: Literal["complete", "fail"]
    state: str


@dataclass(slots=True, frozen=True)
class SeenRunning:
    """A task listed as running by a request sent at `at`; `started_at` is its attempt's start."""

    at: float
    task_id: str
    attempt: int
    started_at: float


@dataclass(slots=True, frozen=True)
class Delivered:
    """A webhook POST the receiver answered 2xx."""

    task_id: str
    delivery_id: str
    event: str


@dataclass(slots=True, frozen=True)
class Final:
    """A task as read once the run was quiet: the fields the checks need."""

    id: str
    state: str
    attempts: int
    max_retries: int
    errors: tuple[str, ...]
    result_attempt: int | None = None
    """The attempt its result names (the handlers return their attempt), when completed."""
    started_at: float | None = None


@dataclass(slots=True)
class History:
    submitted: list[Submitted] = field(default_factory=list)
    leased: list[Leased] = field(default_factory=list)
    heartbeats: list[Heartbeat] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    seen_running: list[SeenRunning] = field(default_factory=list)
    delivered: list[Delivered] = field(default_factory=list)
    finals: dict[str, Final] = field(default_factory=dict)
    """Every task the backend held at the end, acknowledged or not."""
    outages: list[tuple[float, float]] = field(default_factory=list)
    """(from, to): times no scheduler could run (every server killed or stopped, or the store
    down), so nobody could notice a lease running out."""
