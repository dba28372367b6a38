"""`taskline tail`: follow the event stream (SPEC §3 `/ws`) as lines, for people or for `jq`."""

import sys
from datetime import datetime
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from taskline.cli.connection import ApiKeyOption, ServerOption, settings_for
from taskline.cli.following import closing, reached, run_command
from taskline.cli.output import console, state_text
from taskline.client.events import Event, event_to_json
from taskline.config import Settings
from taskline.events.types import Lagged


def tail(
    events: Annotated[
        str | None, typer.Option("--events", help="Only these events, comma-separated (task.completed,task.failed)")
    ] = None,
    queue: Annotated[str | None, typer.Option(help="Only task events of this queue")] = None,
    type: Annotated[str | None, typer.Option("--type", help="Only task events of this task type")] = None,
    task: Annotated[str | None, typer.Option("--task", help="Only events of this task id")] = None,
    since: Annotated[
        str | None, typer.Option(help="Start after this event id, replaying the events still kept after it")
    ] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line, as /ws sends it")] = False,
) -> None:
    """Follow events as they happen, one a line, until Ctrl-C.

    A dropped connection is resumed after the last event shown; `lagged` says events were lost.
    """
    names = None if events is None else events.split(",")
    settings = settings_for(server, api_key)
    run_command(_follow(settings, names, queue=queue, type=type, task_id=task, since=since, as_json=as_json))


async def _follow(
    settings: Settings,
    names: list[str] | None,
    *,
    queue: str | None,
    type: str | None,
    task_id: str | None,
    since: str | None,
    as_json: bool,
) -> None:
    async with (
        reached(settings) as client,
        closing(client.events(names, queue=queue, task_id=task_id, since=since)) as items,
    ):
        async for item in items:
            # /ws has no type filter: it is applied here, and so leaves worker events out, as
            # the queue and task filters do on the server.
            if type is not None and isinstance(item, Event) and (item.task is None or item.task.type != type):
                continue
            if as_json:
                sys.stdout.write(orjson.dumps(event_to_json(item)).decode() + "\n")
                sys.stdout.flush()
            else:
                console.print(event_line(item), soft_wrap=True)


def event_line(item: Event | Lagged) -> str:
    """One event for people (Rich markup): local time, name, then the task's or worker's gist."""
    clock = datetime.fromtimestamp(item.ts).strftime("%H:%M:%S.%f")[:-3]
    if isinstance(item, Lagged):
        return f"{clock}  [yellow]lagged[/yellow]          events were dropped or are no longer kept"
    head = f"{clock}  {item.name.value:<16}"
    if item.worker is not None:
        worker = item.worker
        return f"{head} worker {escape(worker.id)}  host {escape(worker.host or '-')}  pid {worker.pid or '-'}"
    if item.task is None:
        return head
    t = item.task
    line = f"{head} {t.id}  {escape(t.type)}  {escape(t.queue)}  {state_text(t.state)}  attempt {t.attempts}"
    if t.progress is not None and item.name.value == "task.progress":
        line += f"  {t.progress:g}%"
    if t.worker_id and item.name.value == "task.started":
        line += f"  on {escape(t.worker_id)}"
    if t.error and item.name.value in ("task.failed", "task.retrying"):
        line += f"  [red]{escape(t.error)}[/red]"
    return line


def register(app: typer.Typer) -> None:
    app.command()(tail)
