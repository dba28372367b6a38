"""The `taskline` command: one Typer app, one module per group of commands."""

import typer

from taskline.cli import serve, worker

app = typer.Typer(
    name="taskline",
    help="Taskline: a distributed task queue service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
serve.register(app)
worker.register(app)


def main() -> None:
    app()
