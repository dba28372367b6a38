"""What a worker reports when attempts end, and what became of each report.

A batch of outcomes is settled in one atomic step per queue (`Backend.settle`), optionally
leasing the worker's next tasks in the same step: a worker pays one round trip a task.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from taskline.core.states import TaskState
from taskline.core.task import Lease, Task
from taskline.errors import LeaseLost, NotFound

MAX_OUTCOMES = 1000
"""The most outcomes one batch (`POST /api/v1/outcomes`) carries."""

MAX_NEXT = 100
"""The most tasks leased with one report, as with one poll."""

MAX_ERROR_CHARS = 65536
"""The longest error a fail carries, in characters (code points), as `FailBody` takes it."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def error_text(error: str) -> str:
    """`error` as a fail carries it: 1 to `MAX_ERROR_CHARS` characters, and valid Unicode.

    The server refuses a longer, empty or ill-formed one (422), and a worker's attempt would be
    lost to its lease timeout. A surrogate (from a `surrogateescape` decode, say) is not
    Unicode: it becomes U+FFFD. The TypeScript and Go clients apply the same rule.
    """
    return _SURROGATE.sub("\ufffd", error or "failed")[:MAX_ERROR_CHARS]


@dataclass(slots=True, frozen=True)
class Completion:
    """An attempt succeeded: `complete` with its result."""

    task_id: str
    token: str
    result: Any = None


@dataclass(slots=True, frozen=True)
class Failure:
    """An attempt failed: `fail` with its error (`retry` False: to the DLQ at once;
    `retry_after_s` replaces the backoff)."""

    task_id: str
    token: str
    error: str
    retry: bool = True
    retry_after_s: float | None = None


Outcome = Completion | Failure


@dataclass(slots=True, frozen=True)
class LeaseAsk:
    """The tasks a worker wants leased with its outcomes, as `Backend.lease` takes them."""

    worker_id: str
    max: int
    queues: Sequence[str] | None = None
    types: Sequence[str] | None = None


@dataclass(slots=True, frozen=True)
class Settled:
    """What became of one outcome: the state its task is in now, or why it was refused.
    `task` is the task as saved, when the caller asked for it."""

    task_id: str
    state: TaskState | None = None
    refused: NotFound | LeaseLost | None = None
    task: Task | None = None


@dataclass(slots=True, frozen=True)
class Settlement:
    """Each outcome's fate, in the order given, and the tasks leased with them."""

    settled: list[Settled]
    leases: list[Lease]
