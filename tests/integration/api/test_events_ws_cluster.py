"""`/ws` on Redis is cluster-wide: a listener on one `taskline serve` hears what another instance
and a worker process straight on Redis did, since every change is announced in Redis itself."""

import socket
from pathlib import Path
from typing import Any

from tests.helpers.live import live_server, worker_process
from tests.integration.api.events_ws import has, listen, names

LIFE = ["task.created", "task.started", "task.completed"]


def test_a_listener_on_one_instance_hears_another_instance_and_a_redis_worker(redis_url: str, tmp_path: Path) -> None:
    queue = "cluster"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    with (
        live_server(tmp_path / "a", redis_url=redis_url) as first,
        live_server(tmp_path / "b", redis_url=redis_url) as second,
        second.client() as b,
        listen(first, events=",".join([*LIFE, "worker.joined"])) as events,
    ):
        submitted = b.post("/api/v1/tasks", json={"type": "add", "queue": queue, "payload": {"a": 2, "b": 3}})
        assert submitted.status_code == 201, submitted.text
        task_id = submitted.json()["id"]
        with worker_process(
            tmp_path, "tests.integration.worker.tasks_app", "--queues", queue, redis_url=redis_url
        ) as worker:
            mine = f"{socket.gethostname()}:{worker.process.pid}:"

            def joined(received: list[dict[str, Any]]) -> bool:
                return any(m["event"] == "worker.joined" and m["worker"]["id"].startswith(mine) for m in received)

            received = events.until(has("task.completed", task_id), timeout_s=30)
            if not joined(received):  # the worker joins before it polls, but the two streams are read apart
                received += events.until(joined)

    assert names(received, task_id) == LIFE
    started = next(m for m in received if m["event"] == "task.started" and m["task"]["id"] == task_id)
    assert started["task"]["worker_id"].startswith(mine)  # leased by the worker process, not over HTTP
    completed = next(m for m in received if m["event"] == "task.completed" and m["task"]["id"] == task_id)
    assert completed["task"]["state"] == "completed"
    (arrival,) = [m for m in received if m["event"] == "worker.joined" and m["worker"]["id"].startswith(mine)]
    assert (arrival["worker"]["pid"], arrival["worker"]["queues"]) == (worker.process.pid, [queue])
