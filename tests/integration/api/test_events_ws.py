"""`GET /ws` (SPEC §3) against real servers on both backends: what is announced, filters, resume."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

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
        received = events.until(_left(worker_id))

    mine = [m["event"] for m in received if m["worker"]["id"] == worker_id]
    assert mine == ["worker.joined", "worker.paused", "worker.resumed", "worker.left"]
    assert received[0]["worker"]["concurrency"] == 2


def test_filters_by_event_name_task_and_queue(server: LiveServer, http: httpx.Client, queue: str) -> None:
    other = queue + "-other"
    with (
        listen(server, events="task.cancelled", queue=queue) as cancelled_only,
        listen(server, queue=other) as other_queue,
    ):
        mine = _submit(http, queue, delay=3600)
        theirs = _submit(http, other, delay=3600)
        with listen(server, task_id=mine["id"]) as one_task:
            assert http.delete(f"/api/v1/tasks/{theirs['id']}").is_success
            assert http.delete(f"/api/v1/tasks/{mine['id']}").is_success
            only_mine = one_task.until(has("task.cancelled"))
        got_cancelled = cancelled_only.until(has("task.cancelled"))
        got_other = other_queue.until(has("task.cancelled"))
        late = cancelled_only.quiet() + other_queue.quiet()

    # The hub may still be reading the create from just before this listener connected.
    assert {m["task"]["id"] for m in only_mine} == {mine["id"]}
    assert names(only_mine)[-1] == "task.cancelled"
    assert [(m["event"], m["task"]["id"]) for m in got_cancelled] == [("task.cancelled", mine["id"])]
    assert {m["task"]["queue"] for m in got_other} == {other}
    assert names(got_other) == ["task.created", "task.cancelled"]
    assert late == []


def test_since_replays_exactly_what_was_missed(server: LiveServer, http: httpx.Client, queue: str) -> None:
    with listen(server, queue=queue) as events:
        first = _submit(http, queue, delay=3600)
        (seen,) = events.until(has("task.created", first["id"]))
    missed = [_submit(http, queue, delay=3600)["id"] for _ in range(3)]
    assert http.delete(f"/api/v1/tasks/{first['id']}").is_success

    with listen(server, queue=queue, since=seen["id"]) as resumed:
        replayed = resumed.until(lambda got: len(got) >= 4)
        after = _submit(http, queue, delay=3600)
        live = resumed.until(has("task.created", after["id"]))

    assert [(m["event"], m["task"]["id"]) for m in replayed] == [
        *[("task.created", task_id) for task_id in missed],
        ("task.cancelled", first["id"]),
    ]
    assert [m["task"]["id"] for m in live] == [after["id"]]  # nothing twice


def test_bad_filters_and_since_are_refused(server: LiveServer) -> None:
    for params in ({"events": "task.exploded"}, {"since": "yesterday"}):
        with pytest.raises(InvalidStatus) as refused, listen(server, **params):
            pass
        assert refused.value.response.status_code == 422
        assert json.loads(refused.value.response.body or b"")["error"]["code"] == "validation_error"


def _left(worker_id: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda got: any(m["event"] == "worker.left" and m["worker"]["id"] == worker_id for m in got)
