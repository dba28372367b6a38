"""External-worker routes over HTTP: long poll, heartbeat, complete, fail, fencing."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.helpers.live import LiveServer
from tests.integration.api.conftest import StartServer


def poll(http: httpx.Client, queue: str, **params: Any) -> httpx.Response:
    return http.get("/api/v1/poll", params={"worker_id": "w1", "queues": queue, **params})


def submit(http: httpx.Client, queue: str, **fields: Any) -> dict[str, Any]:
    response = http.post("/api/v1/tasks", json={"type": "echo", "queue": queue, **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_an_empty_poll_is_204(http: httpx.Client, queue: str) -> None:
    response = poll(http, queue, wait=0)

    assert response.status_code == 204
    assert response.content == b""


def test_poll_leases_and_complete_finishes(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue, payload={"x": 1})

    (leased,) = poll(http, queue).json()["tasks"]
    token = leased["lease"]["token"]
    beat = http.post(f"/api/v1/tasks/{task['id']}/heartbeat", json={"token": token, "progress": 50})
    done = http.post(f"/api/v1/tasks/{task['id']}/complete", json={"token": token, "result": {"ok": True}})
    again = http.post(f"/api/v1/tasks/{task['id']}/complete", json={"token": token, "result": "other"})

    assert (leased["id"], leased["state"], leased["attempts"]) == (task["id"], "running", 1)
    assert leased["lease"]["expires_at"].endswith("Z")
    assert beat.json()["cancel_requested"] is False
    assert (done.json()["state"], done.json()["result"]) == ("completed", {"ok": True})
    assert again.status_code == 200
    assert again.json()["result"] == {"ok": True}


def test_poll_filters_by_type_and_takes_up_to_max(http: httpx.Client, queue: str) -> None:
    for _ in range(3):
        submit(http, queue, type="resize")
    submit(http, queue, type="email")

    leased = poll(http, queue, types="resize", max=10).json()["tasks"]

    assert [t["type"] for t in leased] == ["resize"] * 3


def test_fail_retries_then_a_repeated_fail_is_409(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)
    (leased,) = poll(http, queue).json()["tasks"]
    body = {"token": leased["lease"]["token"], "error": "boom"}

    failed = http.post(f"/api/v1/tasks/{task['id']}/fail", json=body)
    repeated = http.post(f"/api/v1/tasks/{task['id']}/fail", json=body)

    assert failed.json()["state"] == "retrying"
    assert failed.json()["errors"][0]["error"] == "boom"
    assert repeated.status_code == 409
    assert repeated.json()["error"]["code"] == "lease_lost"


def test_fail_with_retry_after_sets_when_the_retry_is_due(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)
    (leased,) = poll(http, queue).json()["tasks"]

    failed = http.post(
        f"/api/v1/tasks/{task['id']}/fail",
        json={"token": leased["lease"]["token"], "error": "busy", "retry_after": 600},
    ).json()

    assert failed["state"] == "retrying"
    assert poll(http, queue).status_code == 204  # not due for ten minutes, whatever the backoff says


def test_release_hands_a_task_back_without_using_its_attempt(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)
    (first,) = poll(http, queue).json()["tasks"]

    released = http.post(f"/api/v1/tasks/{task['id']}/release", json={"token": first["lease"]["token"]})
    stale = http.post(f"/api/v1/tasks/{task['id']}/release", json={"token": first["lease"]["token"]})
    (again,) = poll(http, queue).json()["tasks"]

    assert (released.status_code, released.json()["state"]) == (200, "pending")
    assert stale.json()["error"]["code"] == "lease_lost"
    assert again["attempts"] == 1
    assert again["errors"] == []


def test_fail_without_retry_is_failed(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)
    (leased,) = poll(http, queue).json()["tasks"]

    failed = http.post(
        f"/api/v1/tasks/{task['id']}/fail", json={"token": leased["lease"]["token"], "error": "no", "retry": False}
    )

    assert failed.json()["state"] == "failed"


def test_a_wrong_token_is_409_lease_lost(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)
    poll(http, queue)

    for action, body in [
        ("complete", {"token": "nope"}),
        ("heartbeat", {"token": "nope"}),
        ("fail", {"token": "nope", "error": "x"}),
    ]:
        response = http.post(f"/api/v1/tasks/{task['id']}/{action}", json=body)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "lease_lost"


def test_poll_parameters_are_validated(http: httpx.Client) -> None:
    for params in ({}, {"worker_id": "w", "wait": 61}, {"worker_id": "w", "max": 0}, {"worker_id": "w", "max": 101}):
        response = http.get("/api/v1/poll", params=params)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"


def test_a_waiting_poll_wakes_on_a_submit(server: LiveServer, queue: str) -> None:
    results: list[httpx.Response] = []

    def wait_for_work() -> None:
        with server.client() as http:
            results.append(poll(http, queue, wait=30))

    waiter = threading.Thread(target=wait_for_work)
    waiter.start()
    with server.client() as http:
        submitted_at = time.monotonic()
        submit(http, queue)
        waiter.join(timeout=25)
    elapsed = time.monotonic() - submitted_at

    assert not waiter.is_alive()
    assert results[0].status_code == 200
    assert elapsed < 10  # woken by the submit, not by the 30 s wait running out


def test_a_waiting_poll_wakes_when_a_scheduled_task_falls_due(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue, delay=1)  # not leasable yet, so the poll below must wait for it
    started = time.monotonic()

    response = poll(http, queue, wait=30)

    assert response.status_code == 200
    assert response.json()["tasks"][0]["id"] == task["id"]
    assert time.monotonic() - started < 10  # woken by the forward, not by the wait running out


def test_eight_http_workers_complete_a_thousand_tasks_once(server: LiveServer, queue: str) -> None:
    with server.client() as http:
        for start in range(0, 1000, 250):
            items = [{"type": "echo", "queue": queue, "payload": i} for i in range(start, start + 250)]
            assert http.post("/api/v1/tasks/bulk", json=items).status_code == 201
    completed: Counter[str] = Counter()
    lock = threading.Lock()

    def work(n: int) -> None:
        with server.client() as http:
            while True:
                response = http.get("/api/v1/poll", params={"worker_id": f"w{n}", "queues": queue, "max": 10})
                if response.status_code == 204:
                    return
                for task in response.json()["tasks"]:
                    done = http.post(f"/api/v1/tasks/{task['id']}/complete", json={"token": task["lease"]["token"]})
                    assert done.status_code == 200
                    with lock:
                        completed[task["id"]] += 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))

    assert len(completed) == 1000
    assert set(completed.values()) == {1}


def test_an_expired_lease_goes_back_and_its_token_is_stale(start_server: StartServer, queue: str) -> None:
    with start_server(lease_seconds="1", backoff_base="0.1") as live, live.client() as http:
        task = submit(http, queue)
        (first,) = poll(http, queue).json()["tasks"]

        second = poll(http, queue, wait=20)  # the scheduler recovers the lease, then it comes back
        (again,) = second.json()["tasks"]
        stale = http.post(f"/api/v1/tasks/{task['id']}/complete", json={"token": first["lease"]["token"]})

    assert (again["id"], again["attempts"]) == (task["id"], 2)
    assert again["errors"][0]["error"] == "lease expired"
    assert stale.status_code == 409


def test_a_poll_whose_client_went_away_hands_the_task_back(server: LiveServer, queue: str) -> None:
    import socket

    gone = socket.create_connection(("127.0.0.1", server.port))
    gone.sendall(f"GET /api/v1/poll?worker_id=gone&queues={queue}&wait=30 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    gone.close()  # the poll is still waiting on the server when its client leaves

    with server.client() as http:
        task = submit(http, queue)
        response = poll(http, queue, wait=20)

    # Kept by the vanished poll, the task would come back only after its 30 s lease.
    assert response.status_code == 200
    (leased,) = response.json()["tasks"]
    assert (leased["id"], leased["attempts"]) == (task["id"], 1)
