"""`taskline serve` (API + scheduler in one process) and `taskline config`."""

import ipaddress
import json
import logging
import socket
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from rich.console import Console

from taskline.config import Settings, load_settings

if TYPE_CHECKING:
    from taskline.api.closing import Closing

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="YAML settings file (else TASKLINE_CONFIG, else ./taskline.yaml)")
]


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )


def settings_from(config: Path | None, **flags: object) -> Settings:
    try:
        settings = load_settings(config, **flags)
        settings.key_roles()  # a malformed TASKLINE_API_KEYS is a usage error, not a traceback
        settings.postgres_dsn()  # as is a TASKLINE_POSTGRES_URL that is not postgresql://
        settings.check_wait_replicas()  # and replicas to wait for with no Redis to wait on
        return settings
    except (ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from exc


def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to bind [TASKLINE_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind [TASKLINE_PORT]")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Use Redis [TASKLINE_REDIS_URL]")] = None,
    sqlite_path: Annotated[Path | None, typer.Option(help="SQLite file [TASKLINE_SQLITE_PATH]")] = None,
    workers: Annotated[int | None, typer.Option(help="Run N built-in handlers at once [TASKLINE_WORKERS]")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning, error")] = None,
) -> None:
    """Run the HTTP API and the scheduler in one process (SQLite unless a Redis URL is set)."""
    from taskline.api.app import create_app

    settings = settings_from(
        config,
        host=host,
        port=port,
        redis_url=redis_url,
        sqlite_path=sqlite_path,
        workers=workers,
        log_level=log_level,
    )
    configure_logging(settings.log_level)
    backend = "redis" if settings.redis_url else f"sqlite ({settings.sqlite_path})"
    logging.getLogger("taskline").info(
        "taskline serving on http://%s:%d with %s", settings.host, settings.port, backend
    )
    app = create_app(settings)
    server_config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",  # at info, no line per request
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
    )
    ClosingServer(server_config, app.state.closing).run()


def dashboard_url(host: str, port: int) -> str:
    """Where a browser on this machine finds the dashboard: a wildcard bind (0.0.0.0, ::)
    is no address to browse to, so it becomes the loopback one; IPv6 goes in brackets."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    try:
        bracketed = ipaddress.ip_address(host).version == 6
    except ValueError:  # a name, such as localhost
        bracketed = False
    return f"http://[{host}]:{port}/" if bracketed else f"http://{host}:{port}/"


class ClosingServer(uvicorn.Server):
    """uvicorn's server, telling the app when a shutdown begins so long polls end at once."""

    def __init__(self, config: uvicorn.Config, closing: "Closing") -> None:
        super().__init__(config)
        self._closing = closing

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Once listening, say where the dashboard is: on stdout, whatever the log level, so
        `make run` shows it; with the port bound (port 0 picks one)."""
        await super().startup(sockets)
        if self.started and self.servers and self.servers[0].sockets:
            port = self.servers[0].sockets[0].getsockname()[1]
            print(f"Dashboard: {dashboard_url(self.config.host, port)}", flush=True)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._closing.begin()


def show_config(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Print the effective configuration, secrets masked."""
    shown = settings_from(config).masked()
    if as_json:
        print(json.dumps(shown, indent=2))
        return
    console = Console()
    for name, value in shown.items():
        console.print(f"[bold]{name}[/bold] = {value!r}  [dim]TASKLINE_{name.upper()}[/dim]")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command("config")(show_config)
