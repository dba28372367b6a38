"""How the client commands print: Rich tables for people, JSON (the API's own shapes) for programs."""

import sys
from collections.abc import Iterable
from typing import Any

import orjson
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.markup import escape
from rich.table import Table

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


def _compact(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else orjson.dumps(value).decode()
