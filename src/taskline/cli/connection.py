"""What every client command shares: the `--server`/`--api-key`/`--json` options (and a listing's
`--output`/`--wide`), and a connection that turns a Taskline error into its code and message on
stderr and exit 1."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from taskline.cli.output import Output
from taskline.client import Client, WaitTimeout
from taskline.config import Settings, load_settings
from taskline.errors import TasklineError

ServerOption = Annotated[
    str | None, typer.Option("--server", "-s", help="http(s):// of a server or redis:// [TASKLINE_SERVER]")
]
ApiKeyOption = Annotated[str | None, typer.Option("--api-key", help="API key [TASKLINE_API_KEY]", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")]
OutputOption = Annotated[
    Output | None,
    typer.Option("--output", "-o", help="table, json (the same as --json) or jsonl (one JSON object a line)"),
]
WideOption = Annotated[bool, typer.Option("--wide", "-w", help="Whole task ids and times, wider than 80 columns")]

errors = Console(stderr=True, highlight=False)


def output_of(as_json: bool, output: Output | None, wide: bool = False) -> Output:
    """What a listing prints, from `--json`, `--output` and `--wide`, refusing the ones that
    contradict each other (or would do nothing: `--wide` is for tables)."""
    if as_json and output not in (None, Output.JSON):
        raise typer.BadParameter(f"--json is --output json: give one or the other, not {output}", param_hint="--json")
    chosen = Output.JSON if as_json else output or Output.TABLE
    if wide and chosen is not Output.TABLE:
        raise typer.BadParameter("--wide widens tables; JSON always holds the whole ids", param_hint="--wide")
    return chosen


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Any failure inside ends the command: the error code and message on stderr, exit 1."""
    try:
        yield
    except TasklineError as exc:
        errors.print(f"[red]error[/red] [bold]{exc.code}[/bold]: {escape(exc.message)}")
        for detail in exc.details if isinstance(exc.details, list) else []:
            where = ".".join(str(detail[k]) for k in ("index", "field") if isinstance(detail, dict) and k in detail)
            errors.print(f"  {escape(where or '-')}: {escape(str(detail.get('message', detail)))}")
        raise typer.Exit(1) from None
    except (WaitTimeout, ValueError, OSError) as exc:
        errors.print(f"[red]error[/red]: {escape(str(exc))}")
        raise typer.Exit(1) from None


def settings_for(server: str | None, api_key: str | None) -> Settings:
    """The settings with the flags applied over TASKLINE_* and the YAML file."""
    with reporting_errors():
        return load_settings(None, server=server, api_key=api_key)


@contextmanager
def connected(server: str | None, api_key: str | None) -> Iterator[Client]:
    """A `Client` to `--server` (else the settings'), inside `reporting_errors`."""
    settings = settings_for(server, api_key)
    with reporting_errors(), Client(settings=settings) as client:
        yield client
