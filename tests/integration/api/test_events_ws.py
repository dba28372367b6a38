"""`GET /ws` (SPEC §3) against real servers on both backends: what is announced, filters, resume."""

from typing import Any

import httpx

from tests.helpers.live import LiveServer
from tests.integration.api.events_ws import has, listen, names


def _submit(http: httpx.Client, queue: str, **fields: Any) -> dict[str, Any]:
    response = http.post("/api/v1/tasks", json={"type": "echo", "queue": queue, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _lease(http: httpx.Client, queue: str, worker_id: str = "w-events") -> dict[str, Any]:
    response = http.get("/api/v1/poll", params={"worker_id": worker_id, "queues": queue, "wait": 5})
    assert response.status_code == 200, response.text
    (task,) = response.json()["tasks"]
    return dict(task)


def test_a_task_life_driven_over_http_is_announced_in_order(server: LiveServer, http: httpx.Client, queue: str) -> None:
    with listen(server, queue=queue) as events:
        task = _submit(http, queue, payload={"secret": "not in events"})
        leased = _lease(http, queue)
        token = leased["lease"]["token"]
        assert http.post(f"/api/v1/tasks/{task['id']}/heartbeat", json={"token": token, "progress": 40}).is_success
        assert http.post(f"/api/v1/tasks/{task['id']}/complete", json={"token": token, "result": 1}).is_success
        received = events.until(has("task.completed", task["id"]))

    assert names(received, task["id"]) == ["task.created", "task.started", "task.progress", "task.completed"]
    ids = [m["id"] for m in received]
    assert len(set(ids)) == len(ids)
    progress = next(m for m in received if m["event"] == "task.progress")
    assert progress["task"]["progress"] == 40
    completed = received[-1]
    assert completed["task"]["state"] == "completed"
    assert completed["ts"].endswith("Z")
    assert not {"payload", "result", "metadata", "errors"} & completed["task"].keys()


def test_retrying_failed_and_cancelled_are_announced(server: LiveServer, http: httpx.Client, queue: str) -> None:
    with listen(server, queue=queue) as events:
        flaky = _submit(http, queue, max_retries=1)
        token = _lease(http, queue)["lease"]["token"]
        assert http.post(f"/api/v1/tasks/{flaky['id']}/fail", json={"token": token, "error": "boom"}).is_success
        received = events.until(has("task.retrying", flaky["id"]))
        again = _lease(http, queue)  # the retry, once its backoff is over
        assert again["id"] == flaky["id"]
        body = {"token": again["lease"]["token"], "error": "boom"}
        assert http.post(f"/api/v1/tasks/{flaky['id']}/fail", json=body).is_success
        cancelled = _submit(http, queue, delay=3600)
        assert http.delete(f"/api/v1/tasks/{cancelled['id']}").is_success
        received += events.until(has("task.cancelled", cancelled["id"]))

    assert names(received, flaky["id"]) == [
        "task.created", "task.started", "task.retrying", "task.pending", "task.started", "task.failed",
    ]  # fmt: skip
    assert names(received, cancelled["id"]) == ["task.created", "task.cancelled"]


def test_a_worker_joining_pausing_resuming_and_leaving_is_announced(server: LiveServer, http: httpx.Client) -> None:
    worker_id = "w-" + __name__[-8:] + str(id(http))
    with listen(server, events="worker.joined,worker.paused,worker.resumed,worker.left") as events:
        assert http.post(f"/api/v1/workers/{worker_id}/heartbeat", json={"concurrency": 2}).is_success
        assert http.post(f"/admin/workers/{worker_id}/pause").is_success
        assert http.post(f"/admin/workers/{worker_id}/resume").is_success
        assert http.delete(f"/api/v1/workers/{worker_id}").status_code == 204
        received = events.until(lambda got: "worker.left" in [m["event"] for m in got if m["worker"]["id"] == worker_id])

    mine = [m["event"] for m in received if m["worker"]["id"] == worker_id]
    assert mine == ["worker.joined", "worker.paused", "worker.resumed", "worker.left"]
    assert received[0]["worker"]["concurrency"] == 2
