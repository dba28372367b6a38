"""Client commands for people: submit (one, or many from a JSON-lines file), get, list,
cancel, retry, stats."""

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from taskline.cli.bulk import submit_file
from taskline.cli.connection import ApiKeyOption, JsonOption, ServerOption, connected
from taskline.cli.output import console, print_json, print_queues, print_task, print_tasks
from taskline.client import Client
from taskline.core.sentinel import UNCHANGED
from taskline.core.states import TaskState
from taskline.core.task import Source
from taskline.wire import queue_json

IdArgument = Annotated[str, typer.Argument(help="The task's id")]


def json_option(text: str | None, name: str) -> Any:
    try:
        return None if text is None else orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=name) from None


def submit(
    type: Annotated[str | None, typer.Argument(help="The task type (omit with --file)", show_default=False)] = None,
    payload: Annotated[str | None, typer.Option(help="The payload, as JSON")] = None,
    queue: Annotated[str | None, typer.Option(help="Queue [default]")] = None,
    priority: Annotated[str | None, typer.Option(help="low, normal, high, critical or 0-3")] = None,
    delay: Annotated[float | None, typer.Option(help="Seconds from now")] = None,
    max_retries: Annotated[int | None, typer.Option(help="Retries after the first attempt")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds one attempt may run")] = None,
    metadata: Annotated[str | None, typer.Option(help="Metadata, a JSON object")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Submit at most once per key")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", exists=True, dir_okay=False, help="Submit every task of a JSON-lines file"),
    ] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a task, or every task (one JSON object a line) of --file."""
    if (type is None) == (file is None):
        raise typer.BadParameter("give either a TYPE or --file, not both")
    if file is not None:
        submit_file(file, server, api_key, as_json=as_json)
        return
    options = {"queue": queue, "delay": delay, "max_retries": max_retries, "timeout": timeout}
    options |= {"priority": int(priority) if priority and priority.isdigit() else priority}
    options |= {"metadata": json_option(metadata, "--metadata")}
    spec = {name: value for name, value in options.items() if value is not None}
    with connected(server, api_key) as client:
        task = client.submit(type, json_option(payload, "--payload"), idempotency_key=idempotency_key, **spec)  # type: ignore[arg-type]
        print_task(task, as_json=as_json)


def get(
    task_id: IdArgument, server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Show one task."""
    with connected(server, api_key) as client:
        print_task(client.get(task_id), as_json=as_json)


def list_tasks(
    state: Annotated[TaskState | None, typer.Option(help="Only tasks in this state")] = None,
    type: Annotated[str | None, typer.Option(help="Only tasks of this type")] = None,
    queue: Annotated[str | None, typer.Option(help="Only tasks of this queue")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first")] = 20,
    history: Annotated[
        bool, typer.Option("--history", help="From PostgreSQL history (the server needs TASKLINE_POSTGRES_URL)")
    ] = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """List tasks, newest first (`taskline get` finds an archived task by itself)."""
    source: Source = "history" if history else "live"
    with connected(server, api_key) as client:
        tasks = client.list(state=state, type=type, queue=queue, limit=limit, source=source)
        print_tasks(list(tasks), as_json=as_json)


def cancel(
    task_id: IdArgument, server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Cancel a task (a running one is asked to stop)."""
    with connected(server, api_key) as client:
        print_task(client.cancel(task_id), as_json=as_json)


def retry(
    task_id: IdArgument,
    payload: Annotated[str | None, typer.Option(help="A new payload, as JSON")] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-run a failed or cancelled task."""
    new_payload = UNCHANGED if payload is None else json_option(payload, "--payload")
    with connected(server, api_key) as client:
        print_task(client.retry(task_id, payload=new_payload), as_json=as_json)


def stats(server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False) -> None:
    """Tasks per state, and every queue's depth."""
    with connected(server, api_key) as client:
        _print_stats(client, as_json)


def _print_stats(client: Client, as_json: bool) -> None:
    counts, queues = client.stats(), client.queues()
    if as_json:
        states = {state.value: n for state, n in counts.states.items()}
        print_json(
            {
                "states": states,
                "total": counts.total,
                "workers": counts.workers,
                "queues": [queue_json(q) for q in queues],
            }
        )
        return
    summary = "  ".join(f"{state}: [bold]{counts.states[state]}[/bold]" for state in TaskState)
    console.print(f"{summary}  total: [bold]{counts.total}[/bold]  workers: [bold]{counts.workers}[/bold]")
    print_queues(queues)


def register(app: typer.Typer) -> None:
    for command in (submit, get, cancel, retry, stats):
        app.command()(command)
    app.command("list")(list_tasks)
