"""`taskline schedules list|get|add|remove|pause|resume` as a person runs them, in a subprocess
against a live server: JSON for programs, tables that fit 80 columns for people, and failures
that exit non-zero with the error's code."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_serve import taskline
from tests.helpers.live import LiveServer, live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("serve")) as live:
        yield live


def run(server: LiveServer, *args: str, cwd: Path) -> Any:
    """`taskline schedules ARGS --json` against `server`; its decoded output."""
    done = taskline("schedules", *args, "--json", cwd=cwd, TASKLINE_SERVER=server.url)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_schedule_from_add_to_remove(server: LiveServer, tmp_path: Path) -> None:
    added = run(
        server,
        *("add", "nightly", "report", "--cron", "0 2 * * *", "--timezone", "Europe/Berlin"),
        *("--payload", '{"to": "ops"}', "--queue", "reports", "--priority", "high", "--max-retries", "1"),
        cwd=tmp_path,
    )
    got = run(server, "get", "nightly", cwd=tmp_path)
    listed = run(server, "list", cwd=tmp_path)
    paused = run(server, "pause", "nightly", cwd=tmp_path)
    resumed = run(server, "resume", "nightly", cwd=tmp_path)
    replaced = run(server, "add", "nightly", "digest", "--every", "90", cwd=tmp_path)
    removed = run(server, "remove", "nightly", cwd=tmp_path)
    with server.client() as http:
        left = http.get("/api/v1/schedules").json()

    assert (added["cron"], added["timezone"], added["paused"]) == ("0 2 * * *", "Europe/Berlin", False)
    task = added["task"]
    assert (task["type"], task["payload"], task["queue"], task["priority"], task["max_retries"]) == (
        "report",
        {"to": "ops"},
        "reports",
        2,
        1,
    )
    assert got == added
    assert [s["name"] for s in listed["schedules"]] == ["nightly"]
    assert (paused["paused"], paused["next_run_at"]) == (True, None)
    assert (resumed["paused"], resumed["next_run_at"] is not None) == (False, True)
    assert (replaced["cron"], replaced["every"], replaced["task"]["queue"]) == (None, 90, "default")
    assert removed == {"removed": "nightly"}
    assert left == {"schedules": []}


def test_people_get_a_table_that_fits_80_columns(server: LiveServer, tmp_path: Path) -> None:
    # Seeded over HTTP: each `taskline` run costs a second of CPU to start.
    long_name = "billing.invoices.monthly-" + "x" * 40
    task = {"type": "invoice.generate", "queue": "billing"}
    with server.client() as http:
        for body in (
            {"name": long_name, "cron": "*/5 9-17 * * 1-5", "timezone": "America/Argentina/Salta", "task": task},
            {"name": "heartbeat", "every": 30, "task": {"type": "ping"}},
        ):
            assert http.post("/api/v1/schedules", json=body).status_code == 201
        http.post("/api/v1/schedules/heartbeat/pause")

        shown = taskline("schedules", "list", cwd=tmp_path, TASKLINE_SERVER=server.url, COLUMNS="80")
        one = taskline("schedules", "get", long_name, cwd=tmp_path, TASKLINE_SERVER=server.url, COLUMNS="80")
        for name in (long_name, "heartbeat"):
            http.delete(f"/api/v1/schedules/{name}")

    assert shown.returncode == one.returncode == 0, shown.stderr + one.stderr
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert long_name in "".join(line.split(" ", 1)[0] for line in lines)  # folded, never cut
    assert "every 30 s" in shown.stdout
    assert "paused" in shown.stdout
    assert "on billing" in shown.stdout
    assert "America/" in shown.stdout  # the time zone under the cron fields (folded)
    assert "*/5 9-17 * * 1-5" in one.stdout


def test_failures_exit_non_zero_with_the_error_code(server: LiveServer, tmp_path: Path) -> None:
    env = {"TASKLINE_SERVER": server.url}
    missing = taskline("schedules", "get", "nope", cwd=tmp_path, **env)
    both = taskline("schedules", "add", "x", "report", "--cron", "@daily", "--every", "5", cwd=tmp_path, **env)
    bad_cron = taskline("schedules", "add", "x", "report", "--cron", "61 * * * *", cwd=tmp_path, **env)

    assert missing.returncode == 1
    assert "not_found" in missing.stderr
    assert both.returncode == 2
    assert "--cron" in both.stderr
    assert bad_cron.returncode == 1
    assert "validation_error" in bad_cron.stderr
    assert "cron:" in bad_cron.stderr
    with server.client() as http:
        assert http.get("/api/v1/schedules").json() == {"schedules": []}
