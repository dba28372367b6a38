"""`taskline worker MODULE:APP`: run tasks, straight from Redis or over HTTP."""

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated

import typer
import uvloop

from taskline.cli.serve import ConfigOption, configure_logging, settings_from
from taskline.config import Settings
from taskline.server import Server
from taskline.worker.app import App
from taskline.worker.builtin import builtin_handlers
from taskline.worker.runner import Worker, check_types, parse_queues
from taskline.worker.transport import HttpTransport, LocalTransport, Transport

log = logging.getLogger("taskline.worker")


def load_app(target: str | None) -> App:
    """`module:attribute`, or `module` holding `app`; None → an app of the built-ins alone."""
    if target is None:
        return App()
    module_name, _, attribute = target.partition(":")
    sys.path.insert(0, os.getcwd())  # as uvicorn and celery do: the project's modules are importable
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise typer.BadParameter(f"cannot import {module_name!r}: {exc}") from exc
    app = getattr(module, attribute or "app", None)
    if not isinstance(app, App):
        raise typer.BadParameter(f"{target!r} is not a taskline.App")
    return app


def worker(
    target: Annotated[
        str | None, typer.Argument(help="MODULE:APP, or MODULE holding `app`; omitted: the built-in handlers")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Tasks run at once")] = 10,
    queues: Annotated[str | None, typer.Option(help="Queues with weights, e.g. high:6,default:3,low:1")] = None,
    types: Annotated[str | None, typer.Option(help="Task types to take (default: those with a handler)")] = None,
    server: Annotated[str | None, typer.Option(help="Server URL when not on Redis [TASKLINE_SERVER]")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key for --server [TASKLINE_API_KEY]")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Work straight from Redis [TASKLINE_REDIS_URL]")] = None,
    config: ConfigOption = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning, error")] = None,
) -> None:
    """Run tasks: straight from Redis when a Redis URL is set, else over HTTP from the server."""
    settings = settings_from(config, server=server, api_key=api_key, redis_url=redis_url, log_level=log_level)
    configure_logging(settings.log_level)
    app = load_app(target)
    if app.builtins:
        app = app.with_builtins(builtin_handlers(settings))
    try:
        weighted = parse_queues(queues or "")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--queues") from exc
    type_list = [t for t in (types or "").split(",") if t] or None
    try:
        check_types(app, type_list)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--types") from exc
    uvloop.run(_run(settings, partial(Worker, app, concurrency=concurrency, queues=weighted, types=type_list)))
    if any(t.name.startswith("taskline-handler") and t.is_alive() for t in threading.enumerate()):
        # A sync handler that outlived the shutdown has had its task handed back; don't wait for it.
        logging.shutdown()
        os._exit(0)


async def _run(settings: Settings, make_worker: Callable[..., Worker]) -> None:
    async with _connect(settings) as transport:
        runner = make_worker(transport, shutdown_timeout_s=settings.shutdown_timeout)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, runner.stop)
        await runner.run()
    log.info("worker %s stopped: %d completed, %d failed", runner.worker_id, runner.processed, runner.failed)


@contextlib.asynccontextmanager
async def _connect(settings: Settings) -> AsyncIterator[Transport]:
    """Straight to Redis, else the HTTP API of `settings.server`. On Redis this process is a
    Taskline server without the API: it also runs the scheduler, as every process on Redis may
    (and no built-in worker: the worker is the one being started)."""
    if settings.redis_url is None:
        api_key = settings.api_key.get_secret_value() if settings.api_key else None
        transport = HttpTransport(settings.server, api_key=api_key)
        try:
            yield transport
        finally:
            await transport.close()
        return
    async with Server(settings.model_copy(update={"workers": 0}), api=False) as server:
        yield LocalTransport(server.service)  # the server closes the service after the worker stops


def register(app: typer.Typer) -> None:
    app.command()(worker)
