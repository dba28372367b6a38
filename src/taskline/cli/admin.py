"""Admin commands for people: the dead-letter queue (`taskline dlq list|retry|clear`) and
queues (`taskline queue list|pause|resume|purge`). They need an admin key where keys are on."""

from typing import Annotated

import typer

from taskline.cli.connection import (
    ApiKeyOption,
    JsonOption,
    OutputOption,
    ServerOption,
    WideOption,
    connected,
    output_of,
)
from taskline.cli.output import console, print_json, print_queues, print_tasks, short_ids_for

dlq = typer.Typer(help="The dead-letter queue: failed tasks.", no_args_is_help=True)
queue = typer.Typer(help="Queues: depth, pause, resume, purge.", no_args_is_help=True)
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")]
QueueArgument = Annotated[str, typer.Argument(help="The queue's name")]


def _confirm(question: str, yes: bool) -> None:
    if not yes and not typer.confirm(question):
        raise typer.Exit(1)


def _report(key: str, count: int, sentence: str, as_json: bool) -> None:
    if as_json:
        print_json({key: count})
    else:
        console.print(sentence.format(count))


@dlq.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(min=1, help="How many, most recently failed first")] = 20,
    wide: WideOption = False,
    output: OutputOption = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Failed tasks, most recently failed first: when each failed and its last error."""
    shape = output_of(as_json, output, wide)
    with connected(server, api_key) as client:
        tasks = list(client.dlq(limit=limit))
        print_tasks(tasks, shape, short_ids=short_ids_for(client, tasks, shape, wide=wide), failures=True)


@dlq.command("retry")
def dlq_retry(
    ids: Annotated[list[str] | None, typer.Argument(help="Task ids (none: every failed task)")] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Retry the given failed tasks, or all of them."""
    with connected(server, api_key) as client:
        _report("retried", client.dlq_retry(ids or None), "retried {} failed tasks", as_json)


@dlq.command("clear")
def dlq_clear(
    yes: YesOption = False, server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Delete every failed task, for good."""
    _confirm("Delete every failed task?", yes)
    with connected(server, api_key) as client:
        _report("deleted", client.dlq_clear(), "deleted {} failed tasks", as_json)


@queue.command("list")
def queue_list(
    output: OutputOption = None, server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Every queue: paused or not, pending tasks by priority, other states."""
    shape = output_of(as_json, output)
    with connected(server, api_key) as client:
        queues = client.queues()
    print_queues(queues, shape)


@queue.command("pause")
def queue_pause(name: QueueArgument, server: ServerOption = None, api_key: ApiKeyOption = None) -> None:
    """Stop workers taking from a queue; submits are still accepted."""
    with connected(server, api_key) as client:
        client.pause_queue(name)
    console.print(f"paused {name}")


@queue.command("resume")
def queue_resume(name: QueueArgument, server: ServerOption = None, api_key: ApiKeyOption = None) -> None:
    """Let workers take from a paused queue again."""
    with connected(server, api_key) as client:
        client.resume_queue(name)
    console.print(f"resumed {name}")


@queue.command("purge")
def queue_purge(
    name: QueueArgument,
    priority: Annotated[str | None, typer.Option(help="Only this priority (low … critical, or 0-3)")] = None,
    yes: YesOption = False,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a queue's pending tasks (of one priority, or all)."""
    _confirm(f"Delete the pending tasks of {name}?", yes)
    with connected(server, api_key) as client:
        _report("purged", client.purge(name, priority=priority), f"purged {{}} pending tasks of {name}", as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(dlq, name="dlq")
    app.add_typer(queue, name="queue")
