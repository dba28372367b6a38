"""compose.yaml and deploy/prometheus.yml checked against the code, without a container engine.

Each Taskline service's command is parsed by the real CLI (Typer's click commands: the
subcommand, its options and their values), its environment read by the real settings (with the
image's ENV beneath it, as Docker layers them), and what follows is checked: the ports it
publishes are the one it binds, its healthcheck asks that port, the URLs it is given name a
service it waits for, Docker's stop grace outlasts its shutdown, and Prometheus scrapes every
API where it listens.
"""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml

from taskline.cli import app as cli_app
from taskline.cli.serve import settings_from
from taskline.cli.worker import load_app
from taskline.config import Settings
from taskline.worker.builtin import builtin_handlers
from taskline.worker.runner import check_types, parse_queues
from tests.helpers import dockerfile
from tests.helpers.compose import (
    APIS,
    IMAGE,
    SERVICES,
    TASKLINE,
    WORKERS,
    by_image,
    command_args,
    depends_on,
    environment,
    mounts,
    named_volumes,
)
from tests.helpers.live import REPO_ROOT

CLI = typer.main.get_command(cli_app)
SETTING_NAMES = {f"TASKLINE_{name.upper()}" for name in Settings.model_fields} | {"TASKLINE_CONFIG"}


@dataclass
class Launch:
    """What a service's container would run: the parsed command and the effective settings."""

    name: str
    env: dict[str, str]  # the image's ENV with the service's environment over it
    params: dict[str, Any]  # the click command's parsed parameters
    settings: Settings


@pytest.fixture
def launch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], Launch]:
    """Parse a service's command with the CLI and read its settings as the process would."""

    def make(name: str) -> Launch:
        service = SERVICES[name]
        entrypoint = service.get("entrypoint", dockerfile.command(IMAGE.args("ENTRYPOINT")))
        assert entrypoint == ["taskline"], f"{name}: the entrypoint is {entrypoint}"
        argv = command_args(service)
        assert argv[0] in CLI.commands, f"{name}: `taskline {argv[0]}` is no command"
        command = CLI.commands[argv[0]]
        params = command.make_context(argv[0], argv[1:]).params  # raises on unknown options and bad values
        env = {
            **{k: v for k, v in IMAGE.env().items() if k.startswith("TASKLINE_")},
            **environment(service),
        }
        for variable in os.environ:
            if variable.startswith("TASKLINE_"):
                monkeypatch.delenv(variable)
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        monkeypatch.chdir(tmp_path)  # no ./taskline.yaml of this checkout's
        flags = {k: v for k, v in params.items() if k in Settings.model_fields}
        return Launch(name, env, params, settings_from(params.get("config"), **flags))

    return make


def test_the_set_is_redis_postgres_two_apis_two_workers_and_prometheus():
    assert len(APIS) == 2
    assert len(WORKERS) == 2
    assert len(by_image("redis:")) == 1
    assert len(by_image("postgres:")) == 1
    assert len(by_image("prom/prometheus")) == 1
    assert set(TASKLINE) == {*APIS, *WORKERS}, "every service built here is an API or a worker"


@pytest.mark.parametrize("name", TASKLINE)
def test_every_taskline_setting_named_is_one_the_settings_read(name: str, launch: Callable[[str], Launch]):
    unknown = {variable for variable in environment(SERVICES[name]) if variable.startswith("TASKLINE_")}
    assert unknown - SETTING_NAMES == set()
    launch(name)  # and each value is one the settings accept, as `taskline` checks them at start


@pytest.mark.parametrize("name", WORKERS)
def test_a_worker_is_told_handlers_it_has(name: str, launch: Callable[[str], Launch]):
    """What `taskline worker` checks before it starts: the app imports, the queues parse and
    every type asked for has a handler."""
    started = launch(name)
    app = load_app(started.params["target"])
    if app.builtins:
        app = app.with_builtins(builtin_handlers(started.settings))
    assert app.handlers, f"{name} has no handler to run"
    parse_queues(started.params["queues"] or "")
    check_types(app, [t for t in (started.params["types"] or "").split(",") if t] or None)


@pytest.mark.parametrize("name", APIS)
def test_an_api_binds_every_interface_and_publishes_and_checks_the_port_it_binds(
    name: str, launch: Callable[[str], Launch]
):
    started = launch(name)
    service = SERVICES[name]
    assert started.settings.host in ("0.0.0.0", "::"), "loopback inside a container is unreachable"
    published = {_container_port(port) for port in service.get("ports", [])}
    assert published == {started.settings.port}
    assert {int(port) for port in service.get("expose", [])} <= {started.settings.port}
    # The image's HEALTHCHECK asks TASKLINE_PORT, which a `--port` flag would leave behind.
    assert "healthcheck" not in service, "the image's HEALTHCHECK is the API's check"
    assert int(started.env["TASKLINE_PORT"]) == started.settings.port


@pytest.mark.parametrize("name", WORKERS)
def test_a_worker_publishes_nothing_and_is_not_checked_on_health_it_does_not_serve(name: str):
    service = SERVICES[name]
    assert "ports" not in service
    assert service.get("healthcheck") == {"disable": True}


def _container_port(port: str | int | dict[str, Any]) -> int:
    """`"127.0.0.1:8080:8080"`, `"8080:8080/tcp"`, `8080` or the long form's `target`."""
    if isinstance(port, dict):
        return int(port["target"])
    return int(str(port).rsplit(":", 1)[-1].split("/")[0])


@pytest.mark.parametrize("name", TASKLINE)
def test_each_url_names_a_service_it_waits_for(name: str, launch: Callable[[str], Launch]):
    """A URL's host is a service and its port the one that service listens on; a process waits
    for the services it connects to: Redis, and PostgreSQL for an API (a worker only writes the
    archive outbox in Redis; the APIs copy it to PostgreSQL)."""
    settings = launch(name).settings
    depends = depends_on(SERVICES[name])
    urls = {
        "redis": (settings.redis_url.get_secret_value() if settings.redis_url else None, True),
        "postgres": (settings.postgres_dsn(), name in APIS),
    }
    if not urls["redis"][0]:
        assert name in WORKERS, f"{name}: an API without Redis keeps SQLite in its container"
        urls["server"] = (settings.server, True)  # a worker over HTTP
    for kind, (url, connects) in urls.items():
        if url is None:
            continue
        target = urlsplit(url)
        assert target.hostname in SERVICES, f"{name}: {kind} URL host {target.hostname!r} is no service"
        assert target.port in (None, _listens_on(target.hostname)), f"{name}: {kind} URL port"
        if connects:
            assert depends.get(target.hostname) == "service_healthy", f"{name} must wait for {target.hostname}"


def _listens_on(name: str) -> int:
    service = SERVICES[name]
    if name in APIS:
        return int(environment(service).get("TASKLINE_PORT", IMAGE.env()["TASKLINE_PORT"]))
    argv = command_args(service) if "command" in service else []
    if "--port" in argv:
        return int(argv[argv.index("--port") + 1])
    image = str(service.get("image", ""))
    return {"redis:": 6379, "postgres:": 5432}[next(p for p in ("redis:", "postgres:") if image.startswith(p))]


def test_every_process_has_the_postgres_url_of_the_postgres_services_user_password_and_database(
    launch: Callable[[str], Launch],
):
    (postgres,) = by_image("postgres:")
    env = environment(SERVICES[postgres])
    # Every process: the APIs archive to it, and a worker with it writes every end to the outbox
    # from its start, rather than from when the APIs' history flag reaches it (compose.yaml).
    dsns = {launch(name).settings.postgres_dsn() for name in TASKLINE}
    assert len(dsns) == 1, "every process has the same history"
    (dsn,) = dsns
    assert dsn is not None
    url = urlsplit(dsn)
    assert (url.hostname, url.username, url.password, url.path) == (
        postgres,
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        "/" + env["POSTGRES_DB"],
    )


def test_every_process_shares_one_redis(launch: Callable[[str], Launch]):
    urls = {launch(name).settings.redis_url.get_secret_value() for name in TASKLINE}
    assert len(urls) == 1


@pytest.mark.parametrize("name", TASKLINE)
def test_dockers_stop_grace_outlasts_the_shutdown_timeout(name: str, launch: Callable[[str], Launch]):
    """Past `stop_grace_period` (10 s unless set) Docker sends SIGKILL: a worker killed before its
    shutdown timeout leaves its running tasks leased until the lease runs out, each attempt lost."""
    grace = _seconds(SERVICES[name].get("stop_grace_period", "10s"))
    assert grace > launch(name).settings.shutdown_timeout


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def _has_healthcheck(name: str) -> bool:
    check = SERVICES[name].get("healthcheck")
    if check is not None:
        return not check.get("disable") and check.get("test") not in (["NONE"], "NONE")
    return name in TASKLINE and dockerfile.healthcheck(IMAGE) is not None


def testdepends_on_names_services_waits_only_on_checked_health_and_has_no_cycle():
    for name, service in SERVICES.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in SERVICES, f"{name} depends on {dependency!r}, no service"
            assert condition in ("service_started", "service_healthy", "service_completed_successfully")
            if condition == "service_healthy":
                assert _has_healthcheck(dependency), f"{name} waits on {dependency}'s health, never checked"
    order: list[str] = []  # services in an order Docker can start them
    while len(order) < len(SERVICES):
        ready = [n for n, s in SERVICES.items() if n not in order and set(depends_on(s)) <= set(order)]
        assert ready, f"a depends_on cycle among {set(SERVICES) - set(order)}"
        order.extend(ready)


def test_redis_keeps_an_append_only_file_on_a_volume():
    (redis,) = by_image("redis:")
    argv = command_args(SERVICES[redis])
    assert argv[:1] == ["redis-server"]
    assert argv[argv.index("--appendonly") + 1] == "yes"
    assert mounts(redis).get("/data") in named_volumes()  # the image's data directory, kept


def test_postgres_keeps_its_data_on_a_volume():
    (postgres,) = by_image("postgres:")
    assert mounts(postgres).get("/var/lib/postgresql/data") in named_volumes()


def test_every_named_volume_is_declared():
    for name in SERVICES:
        for source in mounts(name).values():
            assert source.startswith(("./", "/")) or source in named_volumes(), f"{name}: volume {source!r}"


def test_prometheus_scrapes_every_api_where_it_listens(launch: Callable[[str], Launch]):
    (prometheus,) = by_image("prom/prometheus")
    source = mounts(prometheus)["/etc/prometheus/prometheus.yml"]  # the image's default config
    config = yaml.safe_load((REPO_ROOT / source).read_text())
    (job,) = config["scrape_configs"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job.get("scheme", "http") == "http"
    targets = {target for group in job["static_configs"] for target in group["targets"]}
    apis = {name: launch(name).settings for name in APIS}
    assert targets == {f"{name}:{settings.port}" for name, settings in apis.items()}
    # /metrics is open unless TASKLINE_OPEN_METRICS=false, which would need an admin key here.
    assert all(settings.open_metrics for settings in apis.values()) or "authorization" in job
    assert set(depends_on(SERVICES[prometheus])) == set(APIS)


def test_the_readmes_containers_section_names_the_ports_and_services_compose_has():
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("### Containers") : readme.index("### Reliability")]
    published = {str(port).rsplit(":", 2)[-2] for service in SERVICES.values() for port in service.get("ports", [])}
    assert set(re.findall(r"127\.0\.0\.1:(\d+)/", section)) <= published
    for names in re.findall(r"docker compose logs -f ([\w -]+)", section):
        assert set(names.split()) <= set(SERVICES)
    assert "compose.yaml" in section
