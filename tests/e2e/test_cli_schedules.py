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
    assert run(server, "list", cwd=tmp_path) == {"schedules": []}


def test_people_get_a_table_that_fits_80_columns(server: LiveServer, tmp_path: Path) -> None:
    long_name = "billing.invoices.monthly-" + "x" * 40
    env = {"TASKLINE_SERVER": server.url, "COLUMNS": "80"}
    for args in (
        ("add", long_name, "invoice.generate", "--cron", "*/5 9-17 * * 1-5", "--timezone", "America/Argentina/Salta"),
        ("add", "heartbeat", "ping", "--every", "30", "--queue", "monitoring"),
    ):
        assert taskline("schedules", *args, cwd=tmp_path, **env).returncode == 0
    taskline("schedules", "pause", "heartbeat", cwd=tmp_path, **env)

    shown = taskline("schedules", "list", cwd=tmp_path, **env)
    one = taskline("schedules", "get", "heartbeat", cwd=tmp_path, **env)
    for name in (long_name, "heartbeat"):
        taskline("schedules", "remove", name, cwd=tmp_path, **env)

    assert shown.returncode == one.returncode == 0, shown.stderr + one.stderr
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80
    assert long_name in "".join(line.split(" ", 1)[0] for line in shown.stdout.splitlines())  # folded, not cut
    assert "every 30 s" in shown.stdout
    assert "paused" in shown.stdout
    assert "on monitoring" in shown.stdout
    assert "every" in one.stdout
    assert "30" in one.stdout


def test_failures_exit_non_zero_with_the_error_code(server: LiveServer, tmp_path: Path) -> None:
    env = {"TASKLINE_SERVER": server.url}
    missing = taskline("schedules", "get", "nope", cwd=tmp_path, **env)
    neither = taskline("schedules", "add", "x", "report", cwd=tmp_path, **env)
    both = taskline("schedules", "add", "x", "report", "--cron", "@daily", "--every", "5", cwd=tmp_path, **env)
    bad_cron = taskline("schedules", "add", "x", "report", "--cron", "61 * * * *", cwd=tmp_path, **env)
    bad_json = taskline("schedules", "add", "x", "report", "--every", "5", "--payload", "{nope", cwd=tmp_path, **env)

    assert missing.returncode == 1
    assert "not_found" in missing.stderr
    assert neither.returncode == both.returncode == bad_json.returncode == 2
    assert "--cron" in neither.stderr
    assert bad_cron.returncode == 1
    assert "validation_error" in bad_cron.stderr
    assert "cron:" in bad_cron.stderr
    assert run(server, "list", cwd=tmp_path) == {"schedules": []}
