"""The client commands as a person runs them: `taskline submit|get|list|cancel|retry|stats|dlq|queue`
in a subprocess against a live server."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_serve import taskline
from tests.helpers.live import LiveServer, live_server
from tests.helpers.servers import RedisServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("serve")) as live:
        yield live


def run(server: LiveServer, *args: str, cwd: Path, **env: str) -> Any:
    """Run a command with --json and TASKLINE_SERVER pointing at `server`; its decoded output."""
    done = taskline(*args, "--json", cwd=cwd, TASKLINE_SERVER=server.url, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_task_from_submit_to_retry(server: LiveServer, tmp_path: Path) -> None:
    task = run(
        server, "submit", "echo", "--payload", '{"to": "x"}', "--priority", "high", "--queue", "cli", cwd=tmp_path
    )
    got = run(server, "get", task["id"], cwd=tmp_path)
    listed = run(server, "list", "--queue", "cli", cwd=tmp_path)
    cancelled = run(server, "cancel", task["id"], cwd=tmp_path)
    retried = run(server, "retry", task["id"], "--payload", "[1]", cwd=tmp_path)

    assert (task["state"], task["priority"], task["payload"]) == ("pending", 2, {"to": "x"})
    assert got == task
    assert [t["id"] for t in listed] == [task["id"]]
    assert cancelled["state"] == "cancelled"
    assert (retried["state"], retried["payload"]) == ("pending", [1])


def test_people_get_tables(server: LiveServer, tmp_path: Path) -> None:
    task = run(server, "submit", "resize", "--queue", "tables", cwd=tmp_path)

    shown = taskline("get", task["id"], cwd=tmp_path, TASKLINE_SERVER=server.url, COLUMNS="200")
    stats = taskline("stats", cwd=tmp_path, TASKLINE_SERVER=server.url, COLUMNS="200")

    assert shown.returncode == stats.returncode == 0
    assert task["id"] in shown.stdout
    assert "resize" in shown.stdout
    assert stats.stdout.split()[:2] == ["pending", "scheduled"]  # the counts table's headers
    assert "tables" in stats.stdout


def test_failures_exit_non_zero_with_the_error_code(server: LiveServer, tmp_path: Path) -> None:
    missing = taskline("get", "no-such-task", cwd=tmp_path, TASKLINE_SERVER=server.url)
    invalid = taskline("submit", "not a type", "--queue", "bad", cwd=tmp_path, TASKLINE_SERVER=server.url)
    bad_json = taskline("submit", "echo", "--payload", "{nope", cwd=tmp_path, TASKLINE_SERVER=server.url)

    assert missing.returncode == 1
    assert "not_found" in missing.stderr
    assert invalid.returncode == 1
    assert "validation_error" in invalid.stderr
    assert "type:" in invalid.stderr
    assert bad_json.returncode == 2
    assert run(server, "list", "--queue", "bad", cwd=tmp_path) == []


def test_bulk_submit_from_a_json_lines_file(server: LiveServer, tmp_path: Path) -> None:
    lines = [json.dumps({"type": "echo", "queue": "bulk", "payload": i}) for i in range(1200)]
    (tmp_path / "tasks.jsonl").write_text("\n".join(lines) + "\n\n")
    (tmp_path / "broken.jsonl").write_text(lines[0] + "\n{oops\n")

    report = run(server, "submit", "--file", str(tmp_path / "tasks.jsonl"), cwd=tmp_path)
    broken = taskline("submit", "--file", str(tmp_path / "broken.jsonl"), cwd=tmp_path, TASKLINE_SERVER=server.url)

    assert report["submitted"] == 1200
    assert len(set(report["ids"])) == 1200
    assert broken.returncode == 2
    assert "line 2" in broken.stderr
    queues = {q["name"]: q for q in run(server, "queue", "list", cwd=tmp_path)["queues"]}
    assert queues["bulk"]["pending"]["normal"] == 1200  # the broken file sent nothing


def test_the_dead_letter_queue_and_queues(server: LiveServer, tmp_path: Path) -> None:
    task = run(server, "submit", "echo", "--queue", "dead", cwd=tmp_path)
    with server.client() as http:
        fail_for_good(http, "dead")

    listed = run(server, "dlq", "list", cwd=tmp_path)
    retried = run(server, "dlq", "retry", task["id"], cwd=tmp_path)
    paused = taskline("queue", "pause", "dead", cwd=tmp_path, TASKLINE_SERVER=server.url)
    purged = run(server, "queue", "purge", "dead", "--yes", cwd=tmp_path)
    cleared = run(server, "dlq", "clear", "--yes", cwd=tmp_path)

    assert [t["id"] for t in listed] == [task["id"]]
    assert retried == {"retried": 1}
    assert paused.returncode == 0
    assert purged == {"purged": 1}
    assert cleared == {"deleted": 0}
    (dead,) = [q for q in run(server, "queue", "list", cwd=tmp_path)["queues"] if q["name"] == "dead"]
    assert dead["paused"] is True


def fail_for_good(http: httpx.Client, queue: str) -> None:
    (leased,) = http.get("/api/v1/poll", params={"worker_id": "w", "queues": queue}).json()["tasks"]
    body = {"token": leased["lease"]["token"], "error": "boom", "retry": False}
    assert http.post(f"/api/v1/tasks/{leased['id']}/fail", json=body).json()["state"] == "failed"


def test_the_key_comes_from_the_environment_or_the_flag(tmp_path: Path) -> None:
    with live_server(tmp_path, api_keys="secret:admin") as server:
        refused = taskline("stats", cwd=tmp_path, TASKLINE_SERVER=server.url)
        by_env = run(server, "stats", cwd=tmp_path, TASKLINE_API_KEY="secret")
        by_flag = run(server, "stats", "--api-key", "secret", cwd=tmp_path)

    assert refused.returncode == 1
    assert "unauthorized" in refused.stderr
    assert by_env["total"] == by_flag["total"] == 0


def test_straight_on_redis(redis_server: RedisServer, redis_url: str, tmp_path: Path) -> None:
    submitted = taskline("submit", "echo", "--json", "--server", redis_url, cwd=tmp_path)
    task = json.loads(submitted.stdout)
    got = taskline("get", task["id"], "--json", "--server", redis_url, cwd=tmp_path)

    assert json.loads(got.stdout) == task
