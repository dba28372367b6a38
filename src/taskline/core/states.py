"""Task states and the one table of allowed transitions (SPEC §2)."""

from collections.abc import Mapping
from enum import StrEnum

from taskline.errors import InvalidTransition


class TaskState(StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = TaskState

# Every edge of the SPEC §2 diagram, and nothing else. Backends implement these moves
# (in Lua or SQL) but the contract suite walks this table to prove they allow no others.
TRANSITIONS: Mapping[TaskState, frozenset[TaskState]] = {
    S.SCHEDULED: frozenset({S.PENDING, S.CANCELLED}),
    S.PENDING: frozenset({S.RUNNING, S.CANCELLED}),
    S.RUNNING: frozenset({S.COMPLETED, S.RETRYING, S.FAILED, S.CANCELLED, S.PENDING}),
    S.RETRYING: frozenset({S.PENDING, S.CANCELLED}),
    S.FAILED: frozenset({S.PENDING}),
    S.CANCELLED: frozenset({S.PENDING}),
    S.COMPLETED: frozenset(),
}
# running -> pending is the graceful hand-back of a worker shutting down (SPEC §5);
# running -> cancelled is a cancel-requested attempt that then fails or expires.

TERMINAL: frozenset[TaskState] = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED})
CANCELLABLE: frozenset[TaskState] = frozenset({S.PENDING, S.SCHEDULED, S.RETRYING})
RETRYABLE: frozenset[TaskState] = frozenset({S.FAILED, S.CANCELLED})


def ensure_transition(current: TaskState, target: TaskState) -> None:
    """Raise InvalidTransition unless SPEC §2 allows moving from `current` to `target`."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"a {current} task cannot become {target}")
