"""How the client commands print: Rich tables for people, JSON (the API's own shapes) for programs."""

import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from taskline.client.schedules import Schedule, schedule_to_json
from taskline.core.task import QueueStats, Task
from taskline.wire import PRIORITY_NAMES, rfc3339, task_json

console = Console(highlight=False)
STATE_STYLES = {"completed": "green", "failed": "red", "cancelled": "dim", "running": "cyan", "retrying": "yellow"}


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def state_text(state: str) -> str:
    style = STATE_STYLES.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def print_task(task: Task, *, as_json: bool) -> None:
    """One task, every field: a two-column table, or its API JSON."""
    data = task_json(task)
    if as_json:
        print_json(data)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in data.items():
        if name == "priority":
            value = f"{value} ({PRIORITY_NAMES[value]})"
        shown = state_text(value) if name == "state" else escape(_compact(value))
        table.add_row(name, shown)
    console.print(table)


def print_tasks(tasks: Iterable[Task], *, as_json: bool) -> None:
    """Tasks one per row (id in full, so it can be copied), or a JSON array of API tasks."""
    if as_json:
        print_json([task_json(t) for t in tasks])
        return
    table = Table("id", "type", "queue", "state", "priority", "tries", "created_at", box=SIMPLE_HEAD, pad_edge=False)
    for column in table.columns[0], table.columns[3]:
        column.no_wrap = True
    for task in tasks:
        table.add_row(
            task.id,
            escape(task.type),
            escape(task.queue),
            state_text(task.state),
            PRIORITY_NAMES[task.priority],
            str(task.attempts),
            rfc3339(task.created_at) or "",
        )
    console.print(table)


def print_queues(queues: list[QueueStats]) -> None:
    # Pending by priority, then the other states: the columns of the dashboard's queue view.
    headers = ("queue", "paused", "low", "norm", "high", "crit", "sched", "run", "retry", "failed")
    table = Table(*headers, box=SIMPLE_HEAD, pad_edge=False, caption="low … crit: pending tasks by priority")
    for q in queues:
        counts = [*q.pending, q.scheduled, q.running, q.retrying, q.failed]
        table.add_row(escape(q.name), "[yellow]yes[/yellow]" if q.paused else "no", *map(str, counts))
    console.print(table)


def print_schedule(schedule: Schedule, *, as_json: bool) -> None:
    """One schedule, every field: a two-column table, or its API JSON."""
    data = schedule_to_json(schedule)
    if as_json:
        print_json(data)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in data.items():
        shown = escape(_compact(value))
        if name == "paused":
            shown = "[yellow]yes[/yellow]" if value else "no"
        table.add_row(name, shown)
    console.print(table)


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
