"""Periodic schedules for people: `taskline schedules list|get|add|remove|pause|resume` (SPEC §10).
Reading needs any key; the rest a producer's or an admin's."""

from typing import Annotated

import typer
from rich.markup import escape

from taskline.cli.connection import ApiKeyOption, JsonOption, ServerOption, connected
from taskline.cli.output import console, print_json, print_schedule, print_schedules
from taskline.cli.tasks import json_option
from taskline.client.async_ import ScheduleTaskOptions
from taskline.client.schedules import Schedule, schedule_to_json

schedules = typer.Typer(
    help="Periodic schedules: a task submitted on a cron expression or every N seconds.", no_args_is_help=True
)
NameArgument = Annotated[str, typer.Argument(help="The schedule's name", show_default=False)]


@schedules.command("list")
def schedule_list(server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False) -> None:
    """Every schedule by name: when it runs, its task, its next and last run."""
    with connected(server, api_key) as client:
        found = client.schedules.list()
    if as_json:
        print_json({"schedules": [schedule_to_json(s) for s in found]})
    else:
        print_schedules(found)


@schedules.command("get")
def schedule_get(
    name: NameArgument, server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Show one schedule, with the task it submits."""
    with connected(server, api_key) as client:
        print_schedule(client.schedules.get(name), as_json=as_json)


@schedules.command("add")
def schedule_add(
    name: NameArgument,
    type: Annotated[str, typer.Argument(help="The task type each run submits", show_default=False)],
    cron: Annotated[
        str | None, typer.Option(help='Five cron fields ("0 2 * * *"), or @hourly, @daily, @weekly, @monthly, @yearly')
    ] = None,
    every: Annotated[float | None, typer.Option(help="Seconds between runs (at least 1)")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone the cron fields are read in [UTC]")] = None,
    payload: Annotated[str | None, typer.Option(help="The payload, as JSON")] = None,
    queue: Annotated[str | None, typer.Option(help='The queue its tasks go to ("default" if not given)')] = None,
    priority: Annotated[str | None, typer.Option(help="low, normal, high, critical or 0-3")] = None,
    max_retries: Annotated[int | None, typer.Option(help="Retries after the first attempt")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds one attempt may run")] = None,
    metadata: Annotated[str | None, typer.Option(help="Metadata, a JSON object")] = None,
    webhook: Annotated[str | None, typer.Option(help="URL told when each run's task ends")] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a schedule, or replace the definition of the one of that name (paused stays paused)."""
    if (cron is None) == (every is None):
        raise typer.BadParameter("give either --cron or --every, not both", param_hint="--cron/--every")
    options: ScheduleTaskOptions = {}
    if queue is not None:
        options["queue"] = queue
    if priority is not None:
        options["priority"] = int(priority) if priority.isdigit() else priority
    if max_retries is not None:
        options["max_retries"] = max_retries
    if timeout is not None:
        options["timeout"] = timeout
    if metadata is not None:
        options["metadata"] = json_option(metadata, "--metadata")
    if webhook is not None:
        options["webhook"] = webhook
    task_payload = json_option(payload, "--payload")
    with connected(server, api_key) as client:
        schedule = client.schedules.add(
            name, cron=cron, every=every, timezone=timezone, type=type, payload=task_payload, **options
        )
        print_schedule(schedule, as_json=as_json)


@schedules.command("remove")
def schedule_remove(
    name: NameArgument, server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Delete a schedule; the tasks it already submitted stay."""
    with connected(server, api_key) as client:
        client.schedules.remove(name)
    if as_json:
        print_json({"removed": name})
    else:
        console.print(f"removed schedule {escape(name)}")


@schedules.command("pause")
def schedule_pause(
    name: NameArgument, server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Stop a schedule submitting until it is resumed."""
    with connected(server, api_key) as client:
        _report(client.schedules.pause(name), "paused schedule {name}", as_json)


@schedules.command("resume")
def schedule_resume(
    name: NameArgument, server: ServerOption = None, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Let a paused schedule submit again, from its next run after now (missed runs are not made up)."""
    with connected(server, api_key) as client:
        _report(client.schedules.resume(name), "resumed schedule {name}; next run {next}", as_json)


def _report(schedule: Schedule, sentence: str, as_json: bool) -> None:
    if as_json:
        print_json(schedule_to_json(schedule))
        return
    next_run = schedule_to_json(schedule)["next_run_at"] or "-"
    console.print(sentence.format(name=escape(schedule.name), next=next_run))


def register(app: typer.Typer) -> None:
    app.add_typer(schedules, name="schedules")
