"""compose.yaml's set run without Docker: each Taskline service's own command and environment
(over the image's ENV) as a process here, Redis with its append-only file, PostgreSQL with the
role and database its POSTGRES_* variables create, and the service names in the URLs mapped to
the loopback ports they got (what Docker's network resolves). A batch submitted to one API is
run by the workers, read back from the other API, archived to PostgreSQL, and counted on every
/metrics Prometheus scrapes."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import yaml

from tests.helpers.compose import APIS, IMAGE, SERVICES, WORKERS, by_image, command_args, environment, mounts
from tests.helpers.live import REPO_ROOT, LiveServer, stop, wait_until
from tests.helpers.live import _wait_until_healthy as wait_until_healthy
from tests.helpers.postgres import PostgresServer, running_postgres
from tests.helpers.servers import free_port, running_redis

BATCH = 20


def on_loopback(value: str, addresses: dict[str, int]) -> str:
    """A URL naming a compose service (`redis://redis:6379/0`) pointed at where that service
    listens here; any other value unchanged."""
    url = urlsplit(value)
    if "://" not in value or url.hostname not in addresses:
        return value
    userinfo = url.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@" if userinfo else ""
    return urlunsplit(url._replace(netloc=f"{netloc}127.0.0.1:{addresses[url.hostname]}"))


def create_postgres_role_and_database(postgres: PostgresServer) -> None:
    """What the postgres image does with POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB."""
    (service,) = by_image("postgres:")
    env = environment(SERVICES[service])
    user, password, database = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
    postgres.psql(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'")
    postgres.psql(f'CREATE DATABASE "{database}" OWNER "{user}"')


@contextmanager
def service_process(
    name: str, workdir: Path, addresses: dict[str, int], **overrides: str
) -> Iterator["subprocess.Popen[bytes]"]:
    """`taskline <command>` as the service's container would run it: the image's ENV, then the
    service's environment with service names resolved, then `overrides` (what one machine
    needs: ports apart, a SQLite path of its own)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")},
        **{k: v for k, v in IMAGE.env().items() if k.startswith("TASKLINE_")},
        **{k: on_loopback(v, addresses) for k, v in environment(SERVICES[name]).items()},
        "TASKLINE_SQLITE_PATH": str(workdir / "taskline.db"),
        **overrides,
    }
    taskline = str(Path(sys.executable).parent / "taskline")  # the image's ENTRYPOINT
    workdir.mkdir()
    with (workdir / "log").open("wb") as out:
        process = subprocess.Popen(
            [taskline, *command_args(SERVICES[name])], env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        stop(process)


@pytest.mark.timeout(180)
def test_the_compose_set_runs_a_batch_from_one_api_to_the_other_and_into_history(tmp_path: Path) -> None:
    (redis_name,) = by_image("redis:")
    (postgres_name,) = by_image("postgres:")
    (prometheus_name,) = by_image("prom/prometheus")
    with ExitStack() as stack:
        (tmp_path / "redis").mkdir()
        redis = stack.enter_context(running_redis(tmp_path / "redis", appendonly=True))
        postgres = stack.enter_context(running_postgres())
        create_postgres_role_and_database(postgres)
        addresses = {redis_name: redis.port, postgres_name: postgres.port}
        addresses |= {api: free_port() for api in APIS}  # each binds 8080 in its own container
        apis: dict[str, LiveServer] = {}
        for api in APIS:
            workdir = tmp_path / api
            process = stack.enter_context(service_process(api, workdir, addresses, TASKLINE_PORT=str(addresses[api])))
            apis[api] = LiveServer(process, addresses[api], workdir / "log")
        # The workers wait for Redis only (their depends_on), so they start beside the APIs.
        workers = {name: stack.enter_context(service_process(name, tmp_path / name, addresses)) for name in WORKERS}
        for server in apis.values():
            wait_until_healthy(server)
        first = stack.enter_context(apis[APIS[0]].client())  # submits go to one API...
        second = stack.enter_context(apis[APIS[1]].client())  # ...and are read from the other

        def workers_registered() -> bool:
            for name, process in workers.items():
                assert process.poll() is None, f"{name} exited:\n{(tmp_path / name / 'log').read_text()}"
            return len(second.get("/admin/workers").json()["workers"]) == len(WORKERS)

        wait_until(workers_registered, timeout_s=60, what="both workers to register")
        created = first.post("/api/v1/tasks/bulk", json=[{"type": "echo", "payload": {"n": n}} for n in range(BATCH)])
        assert created.status_code == 201, created.text
        ids = sorted(task["id"] for task in created.json()["tasks"])

        def listed(**params: str) -> list[str]:
            page = second.get("/api/v1/tasks", params={"type": "echo", "limit": "500", **params})
            assert page.status_code == 200, page.text
            return sorted(task["id"] for task in page.json()["tasks"])

        wait_until(lambda: listed(state="completed") == ids, timeout_s=60, what="the batch to complete")
        wait_until(lambda: listed(source="history") == ids, timeout_s=60, what="the batch to reach PostgreSQL")

        config = yaml.safe_load((REPO_ROOT / mounts(prometheus_name)["/etc/prometheus/prometheus.yml"]).read_text())
        for target in config["scrape_configs"][0]["static_configs"][0]["targets"]:
            host = target.partition(":")[0]
            metrics = httpx.get(f"http://127.0.0.1:{addresses[host]}/metrics", timeout=10)
            assert metrics.status_code == 200
            assert f'taskline_tasks_completed_total{{queue="default",type="echo"}} {BATCH}.0' in metrics.text

        # `docker compose stop`: SIGTERM to each; each stops by itself, well inside the grace period.
        for name, process in {**workers, **{api: server.process for api, server in apis.items()}}.items():
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) in (0, -signal.SIGTERM), (tmp_path / name / "log").read_text()
