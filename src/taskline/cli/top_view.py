"""What `taskline top` shows: the last reading of the server, rates per second, and how both
are drawn (a Rich screen on a terminal, one `key=value` line per update elsewhere)."""

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.box import SIMPLE_HEAD
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from taskline.core.states import TaskState
from taskline.core.task import QueueStats, Stats, Task
from taskline.core.workers import WorkerRecord
from taskline.events.types import EventName

RATE_WINDOW_S = 10.0
"""Rates are events per second over this many seconds (fewer just after the start)."""

FAILED_ATTEMPT = frozenset({EventName.TASK_FAILED, EventName.TASK_RETRYING})


@dataclass(slots=True)
class Reading:
    """One reading of the server: counts, queues, workers (None: the key may not list them),
    and the running tasks, from which the workers' current work is told."""

    stats: Stats
    queues: list[QueueStats]
    workers: list[WorkerRecord] | None
    running: list[Task]
    at: float = field(default_factory=time.time)


class Rates:
    """Completions and failed attempts per second: counted from events as they arrive, or,
    when polling, from the growth of the completed and failed counts between two readings."""

    def __init__(self, now: float) -> None:
        self._started = now
        self._seen: deque[tuple[float, bool]] = deque()  # (arrival, failed attempt?)
        self._previous: Reading | None = None
        self._polled = (0.0, 0.0)

    def count(self, name: EventName, now: float) -> None:
        if name is EventName.TASK_COMPLETED or name in FAILED_ATTEMPT:
            self._seen.append((now, name in FAILED_ATTEMPT))

    def poll(self, reading: Reading) -> None:
        before, self._previous = self._previous, reading
        if before is None or reading.at <= before.at:
            return
        span = reading.at - before.at
        grown = [max(0, reading.stats.states[s] - before.stats.states[s]) / span for s in _DONE]
        self._polled = (grown[0], grown[1])

    def per_second(self, now: float, *, polling: bool) -> tuple[float, float]:
        """(completed/s, failed attempts/s)."""
        if polling:
            return self._polled
        while self._seen and self._seen[0][0] < now - RATE_WINDOW_S:
            self._seen.popleft()
        span = max(1.0, min(RATE_WINDOW_S, now - self._started))
        failed = sum(1 for _, is_failure in self._seen if is_failure)
        return (len(self._seen) - failed) / span, failed / span


_DONE = (TaskState.COMPLETED, TaskState.FAILED)


@dataclass(slots=True)
class Status:
    """Where the view's figures come from and what went wrong last, for its header."""

    server: str
    source: str = "events"
    problem: str | None = None


def failure_rate(completed_s: float, failed_s: float) -> str:
    finished = completed_s + failed_s
    return "-" if finished == 0 else f"{100 * failed_s / finished:.0f}%"


def plain_line(reading: Reading, completed_s: float, failed_s: float, status: Status) -> str:
    """One update as `key=value` words, for a log or a pipe."""
    stamp = datetime.fromtimestamp(reading.at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    counts = " ".join(f"{state.value}={reading.stats.states[state]}" for state in TaskState)
    line = (
        f"{stamp} {counts} total={reading.stats.total} workers={reading.stats.workers}"
        f" completed/s={completed_s:.1f} failed/s={failed_s:.1f} source={status.source.split(' ')[0]}"
    )
    return line + (f" problem={status.problem!r}" if status.problem else "")


def screen(reading: Reading | None, completed_s: float, failed_s: float, status: Status) -> RenderableType:
    """The full-screen view: header, state counts and rates, queues, workers."""
    clock = datetime.now().strftime("%H:%M:%S")
    header = Text.from_markup(
        f"[bold]taskline top[/bold]  {escape(status.server)}  {clock}  [dim]{escape(status.source)} · q quits[/dim]"
    )
    parts: list[RenderableType] = [header]
    if status.problem:
        parts.append(Text.from_markup(f"[red]{escape(status.problem)}[/red]"))
    if reading is None:
        return Group(*parts, Text("reading the server…"))
    states = Table(*[s.value for s in TaskState], "total", **_COMPACT)
    states.add_row(*[str(reading.stats.states[s]) for s in TaskState], str(reading.stats.total))
    rates = (
        f"completed/s [bold]{completed_s:.1f}[/bold]  failed/s [bold]{failed_s:.1f}[/bold]"
        f"  failure rate [bold]{failure_rate(completed_s, failed_s)}[/bold]"
        f"  [dim](last {RATE_WINDOW_S:.0f} s)[/dim]"
    )
    return Group(*parts, states, Text.from_markup(rates), _queues(reading.queues), _workers(reading))


# One space after each cell and the box's own between columns: eight states fit in 80 columns.
_COMPACT: dict[str, Any] = {"box": SIMPLE_HEAD, "pad_edge": False, "padding": (0, 1, 0, 0)}


def _queues(queues: list[QueueStats]) -> Table:
    headers = ("queue", "paused", "low", "normal", "high", "crit", "sched", "run", "retry", "failed")
    table = Table(*headers, **_COMPACT, title="pending by priority", title_justify="left")
    for q in queues:
        counts = [*q.pending, q.scheduled, q.running, q.retrying, q.failed]
        table.add_row(escape(q.name), "[yellow]yes[/yellow]" if q.paused else "no", *map(str, counts))
    return table


def _workers(reading: Reading) -> RenderableType:
    running: dict[str, Counter[str]] = {}
    for task in reading.running:
        running.setdefault(task.worker_id or "?", Counter())[task.type] += 1
    table = Table("worker", "host", "state", "busy", "done", "failed", "running", **_COMPACT)
    table.columns[0].overflow = "fold"
    if reading.workers is None:
        # Without an admin key only the running tasks tell which workers there are.
        table.caption = "worker records need an admin key: workers seen in running tasks only"
        for worker_id, types in sorted(running.items()):
            table.add_row(escape(worker_id), "-", "-", str(types.total()), "-", "-", _work(types))
        return table
    for w in reading.workers:
        # A worker that only polls never reports `active`; its running tasks say it (up to
        # the RUNNING_SHOWN read, past which `active` of a heartbeating worker still does).
        mine = running.get(w.id, Counter())
        active = max(w.active, mine.total())
        busy = f"{active}/{w.concurrency}" if w.concurrency else str(active)
        state = "[yellow]paused[/yellow]" if w.paused else w.state.value
        table.add_row(escape(w.id), escape(w.host or "-"), state, busy, str(w.processed), str(w.failed), _work(mine))
    return table


def _work(types: Counter[str]) -> str:
    return ", ".join(f"{escape(t)}×{n}" if n > 1 else escape(t) for t, n in sorted(types.items())) or "-"
