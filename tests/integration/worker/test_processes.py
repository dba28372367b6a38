"""`taskline worker` as real processes: over HTTP to a server, and straight on Redis."""

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.helpers.live import LiveServer, live_server, wait_until, worker_process
from tests.helpers.servers import RedisServer

APP = "tests.integration.worker.tasks_app:app"


def submit(http: httpx.Client, type: str, payload: Any = None, **fields: Any) -> str:
    response = http.post("/api/v1/tasks", json={"type": type, "payload": payload or {}, **fields})
    assert response.status_code == 201, response.text
    task_id: str = response.json()["id"]
    return task_id


def task(http: httpx.Client, task_id: str) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/api/v1/tasks/{task_id}").json()
    return body


@pytest.fixture
def server(tmp_path: Path) -> Any:
    # Short leases so a killed worker's task comes back quickly; a tiny backoff for the retry.
    with live_server(tmp_path, lease_seconds="1", backoff_base="0.05") as live:
        yield live


def test_an_http_worker_runs_sync_and_async_handlers(server: LiveServer, tmp_path: Path) -> None:
    with server.client() as http:
        sums = [submit(http, "add", {"a": n, "b": 1}) for n in range(20)]
        echoed = submit(http, "echo", {"hello": "world"})
        with worker_process(tmp_path, APP, "--concurrency", "4", server=server.url):
            wait_until(lambda: task(http, echoed)["state"] == "completed", what="the echo task")
            wait_until(lambda: all(task(http, t)["state"] == "completed" for t in sums), what="the sums")

        assert [task(http, t)["result"] for t in sums] == [n + 1 for n in range(20)]
        assert task(http, echoed)["result"] == {"hello": "world"}


def test_a_task_of_a_killed_worker_is_delivered_again_and_completed(server: LiveServer, tmp_path: Path) -> None:
    with server.client() as http:
        task_id = submit(http, "hang", max_retries=3)
        with worker_process(tmp_path, APP, server=server.url, environ={"HANG_FOR_TEST": "1"}) as doomed:
            wait_until(lambda: task(http, task_id)["progress"] == 1, what="the first attempt to start")
            doomed.process.kill()
            doomed.process.wait()
        with worker_process(tmp_path, APP, server=server.url):
            wait_until(lambda: task(http, task_id)["state"] == "completed", what="the second attempt")

        done = task(http, task_id)
        assert (done["attempts"], done["result"]) == (2, "finished")
        assert [e["error"] for e in done["errors"]] == ["lease expired"]


def test_sigterm_lets_the_running_task_finish_and_leaves_queued_ones(
    redis_server: RedisServer, redis_url: str, tmp_path: Path
) -> None:
    gate = tmp_path / "open"
    with live_server(tmp_path, redis_url=redis_url) as server, server.client() as http:
        running = submit(http, "gate", {"file": str(gate)})
        with worker_process(tmp_path, APP, "--concurrency", "1", redis_url=redis_url) as worker:
            wait_until(lambda: task(http, running)["progress"] == 1, what="the gate task to start")
            queued = [submit(http, "add", {"a": 1, "b": 2}) for _ in range(3)]
            worker.process.send_signal(signal.SIGTERM)
            wait_until(lambda: "waiting up to" in worker.output(), what="the worker to begin its shutdown")
            gate.touch()
            assert worker.process.wait(timeout=15) == 0, worker.output()

        assert (task(http, running)["state"], task(http, running)["result"]) == ("completed", "through")
        assert [(task(http, t)["state"], task(http, t)["attempts"]) for t in queued] == [("pending", 0)] * 3


def test_a_worker_on_redis_alone_also_brings_retries_back(redis_url: str, tmp_path: Path) -> None:
    with live_server(tmp_path, redis_url=redis_url) as server, server.client() as http:
        task_id = submit(http, "flaky_once", max_retries=2)
    # The server is gone: only the worker's own scheduler can forward the retry when it is due.
    counts = redis.Redis.from_url(redis_url, decode_responses=True)
    with worker_process(tmp_path, APP, redis_url=redis_url, backoff_base="0.05") as worker:
        wait_until(lambda: counts.hget("taskline:{default}:counts", "completed") == "1", what="the retry")
        assert worker.process.poll() is None, worker.output()
    counts.close()
    with live_server(tmp_path, redis_url=redis_url) as server, server.client() as http:
        done = task(http, task_id)
    assert (done["state"], done["result"], done["attempts"]) == ("completed", 2, 2)
