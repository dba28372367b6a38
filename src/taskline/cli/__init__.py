"""The `taskline` command: one Typer app, one module per group of commands."""

import typer

from taskline.cli import admin, bench, schedules, serve, tasks, worker

app = typer.Typer(
    name="taskline",
    help="Taskline: a distributed task queue service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
serve.register(app)
worker.register(app)
tasks.register(app)
admin.register(app)
schedules.register(app)
bench.register(app)


def main() -> None:
    app()
