"""How the client commands print: Rich tables for people (80 columns wide is enough), JSON (the
API's own shapes) or JSON lines for programs."""

import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from taskline.client import Client
from taskline.client.schedules import Schedule, schedule_to_json
from taskline.core.states import TaskState
from taskline.core.task import QueueStats, Stats, Task
from taskline.wire import PRIORITY_NAMES, queue_json, rfc3339, task_json

console = Console(highlight=False)
STATE_STYLES = {"completed": "green", "failed": "red", "cancelled": "dim", "running": "cyan", "retrying": "yellow"}
SHORT_PRIORITIES = ("low", "norm", "high", "crit")  # the queue table's headers, 4 columns each
SHORT_IDS_MOST = 500  # ids one short_ids request takes (the service's SHORT_IDS_MOST)


class Output(StrEnum):
    """What a listing prints: a table, one JSON document, or one JSON object a line (`jq -c`)."""

    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def print_lines(items: Iterable[Any]) -> None:
    """One compact JSON document a line."""
    sys.stdout.write("".join(orjson.dumps(item).decode() + "\n" for item in items))


def state_text(state: str) -> str:
    style = STATE_STYLES.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def age(at: float | None, now: float) -> str:
    """How long ago, in its largest unit, as `kubectl get` shows it: 45s, 12m, 3h, 9d."""
    if at is None:
        return "-"
    seconds = max(0, int(now - at))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _table(*headers: str, **options: Any) -> Table:
    # One space between columns (the box's) and none at the edges, as `ps` and `kubectl get` print:
    # what lets a list row hold an 18-character id, a 16-character type and queue in 80 columns.
    return Table(*headers, box=SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=0, **options)


def _print_wide(table: Table) -> None:
    """`table` at its natural width, however narrow the terminal: its lines wrap (as `kubectl get
    -o wide`'s do) rather than Rich squeezing the columns until ids are cut."""
    width = Measurement.get(console, console.options.update(width=10_000), table).maximum
    # Console.print's own width can only narrow: a console of the table's width, on the same stream.
    Console(width=max(width, console.width), highlight=False, file=console.file).print(table)


def short_ids_for(client: Client, tasks: Sequence[Task], output: Output, *, wide: bool) -> dict[str, str] | None:
    """The abbreviations a table shows (None: whole ids, for --wide and for JSON), asked of the
    server, which alone knows every stored id."""
    if wide or output is not Output.TABLE:
        return None
    ids = [t.id for t in tasks]
    short: dict[str, str] = {}
    for start in range(0, len(ids), SHORT_IDS_MOST):
        short |= client.short_ids(ids[start : start + SHORT_IDS_MOST])
    return short


def print_task(task: Task, *, as_json: bool) -> None:
    """One task, every field: a two-column table, or its API JSON."""

    def shown(name: str, value: Any) -> str:
        if name == "priority":
            value = f"{value} ({PRIORITY_NAMES[value]})"
        return state_text(value) if name == "state" else escape(_compact(value))

    _print_fields(task_json(task), shown, as_json=as_json)


def _print_fields(data: dict[str, Any], shown: Callable[[str, Any], str], *, as_json: bool) -> None:
    """A record's every field as a two-column table (`shown` renders each value), or its JSON."""
    if as_json:
        print_json(data)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in data.items():
        table.add_row(name, shown(name, value))
    console.print(table)


def print_tasks(
    tasks: Sequence[Task],
    output: Output,
    *,
    short_ids: Mapping[str, str] | None = None,
    failures: bool = False,
) -> None:
    """Tasks one per row, or their API JSON (an array, or one a line).

    The table names each task by `short_ids` (its abbreviation, which `get`, `cancel` and
    `retry` take), or by its whole id when there are none (`--wide`). `failures` (the DLQ)
    shows when each failed and its last error instead of its state and priority."""
    if output is not Output.TABLE:
        _print_json([task_json(t) for t in tasks], output)
        return
    wide = short_ids is None
    if failures:
        table = _table("id", "type", "queue", "tries", "failed", "error")
    else:
        headers = ("priority", "created_at") if wide else ("pri", "age")
        table = _table("id", "type", "queue", "state", headers[0], "tries", headers[1])
    for column in table.columns:
        column.no_wrap = column.header not in ("type", "queue", "error")
        column.overflow = "fold"  # a name over 16 characters wraps, whole, rather than losing its end
    now = time.time()
    rows = [_task_row(task, now, short_ids, failures=failures) for task in tasks]
    for row in rows:
        table.add_row(*row)
    if wide:
        _print_wide(table)
        return
    if failures and rows:
        # The error takes the room the other columns leave, one line a task: without a bound
        # Rich would narrow every column to make room for it, cutting ids and names first.
        others = sum(max(len(str(c.header)), *(len(r[i]) for r in rows)) + 1 for i, c in enumerate(table.columns[:-1]))
        table.columns[-1].max_width = max(console.width - others, 12)
        table.columns[-1].overflow = "ellipsis"
        table.columns[-1].no_wrap = True
    console.print(table)


def _task_row(task: Task, now: float, short_ids: Mapping[str, str] | None, *, failures: bool) -> list[str]:
    """One task's cells, in print_tasks' columns (whole id, priority name and time when wide)."""
    wide = short_ids is None
    row = [task.id if short_ids is None else short_ids.get(task.id, task.id), escape(task.type), escape(task.queue)]
    if failures:
        return [*row, str(task.attempts), age(task.completed_at, now), escape(task.error or "")]
    priority = (PRIORITY_NAMES if wide else SHORT_PRIORITIES)[task.priority]
    created = (rfc3339(task.created_at) or "") if wide else age(task.created_at, now)
    return [*row, state_text(task.state), priority, str(task.attempts), created]


def print_queues(queues: list[QueueStats], output: Output) -> None:
    """Every queue's counts: pending by priority, then the other states (the dashboard's queue
    view), or `{"queues": [...]}` as the API gives it (jsonl: one queue a line)."""
    if output is Output.JSONL:
        print_lines(queue_json(q) for q in queues)
        return
    if output is Output.JSON:
        print_json({"queues": [queue_json(q) for q in queues]})
        return
    headers = ("queue", "paused", *SHORT_PRIORITIES, "sched", "run", "retry", "failed")
    table = _table(*headers, caption="low … crit: pending tasks by priority")
    table.columns[0].overflow = "fold"
    for q in queues:
        counts = [*q.pending, q.scheduled, q.running, q.retrying, q.failed]
        table.add_row(escape(q.name), "[yellow]yes[/yellow]" if q.paused else "no", *map(str, counts))
    console.print(table)


def print_stats(counts: Stats, queues: list[QueueStats], output: Output) -> None:
    """Tasks per state and the workers, then every queue (`print_queues`); in JSON one document
    (jsonl: that document on one line)."""
    if output is not Output.TABLE:
        data = {
            "states": {state.value: n for state, n in counts.states.items()},
            "total": counts.total,
            "workers": counts.workers,
            "queues": [queue_json(q) for q in queues],
        }
        _print_json(data, output)
        return
    totals = _table(*(s.value for s in TaskState), "total", "workers")
    totals.add_row(*(f"[bold]{counts.states[s]}[/bold]" for s in TaskState), str(counts.total), str(counts.workers))
    console.print(totals)
    print_queues(queues, output)


def _print_json(data: Any, output: Output) -> None:
    """`data` indented, or (jsonl) each item of a list, or a document, on a line of its own."""
    if output is Output.JSONL:
        print_lines(data if isinstance(data, list) else [data])
    else:
        print_json(data)


def print_schedule(schedule: Schedule, *, as_json: bool) -> None:
    """One schedule, every field: a two-column table, or its API JSON."""

    def shown(name: str, value: Any) -> str:
        if name == "paused":
            return "[yellow]yes[/yellow]" if value else "no"
        return escape(_compact(value))

    _print_fields(schedule_to_json(schedule), shown, as_json=as_json)


def print_schedules(schedules: Iterable[Schedule]) -> None:
    """Schedules one per row, narrow enough for 80 columns: `get NAME` shows the rest."""
    table = Table(box=SIMPLE_HEAD, pad_edge=False, show_edge=False)
    # Folded, never cut: a name is copied from here.
    for heading, min_width in (("name", 14), ("runs", 13), ("task", None)):
        table.add_column(heading, overflow="fold", min_width=min_width)
    for heading in ("next run", "last run"):
        table.add_column(heading, width=10)  # "59 min ago"
    now = datetime.now(UTC)
    for schedule in schedules:
        if schedule.paused:
            next_run = "[yellow]paused[/yellow]"
        elif schedule.next_run_at is not None and schedule.next_run_at <= now:
            next_run = "due"  # the scheduler's next step submits it
        else:
            next_run = _relative_time(schedule.next_run_at, now)
        table.add_row(
            escape(schedule.name),
            escape(_runs_text(schedule)),
            escape(_task_text(schedule.task)),
            next_run,
            _relative_time(schedule.last_run_at, now),
        )
    console.print(table)


def _runs_text(schedule: Schedule) -> str:
    """When a schedule runs, shortly: `every 90 s`, `every 6 h`, or the cron fields with the
    time zone under them unless it is UTC."""
    if schedule.cron is not None:
        return schedule.cron if schedule.timezone == "UTC" else f"{schedule.cron}\n{schedule.timezone}"
    every = schedule.every or 0
    for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60)):
        if every >= seconds and every % seconds == 0:
            return f"every {every // seconds:g} {unit}"
    return f"every {every:g} s"


def _task_text(task: dict[str, Any]) -> str:
    """The task's type, and its queue under it unless that is the default one."""
    queue = task.get("queue", "default")
    return str(task.get("type")) + ("" if queue == "default" else f"\non {queue}")


def _relative_time(time: datetime | None, now: datetime) -> str:
    """`in 40 s`, `3 min ago`, `in 5 h`: short enough for a table (`get` shows the exact time)."""
    if time is None:
        return "-"
    seconds = (time - now).total_seconds()
    size = abs(seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if size >= length:
            amount = f"{round(size / length)} {unit}"
            break
    else:
        amount = f"{round(size)} s"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def _compact(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else orjson.dumps(value).decode()
