"""The worker registry over HTTP (SPEC §3 "Admin", §5): polls and heartbeats register workers,
/admin/workers shows them, a paused worker's polls lease nothing, /api/v1/stats counts them."""

import threading
from typing import Any

import httpx

from tests.helpers.live import LiveServer, wait_until
from tests.integration.api.test_workers_api import submit

REPORT = {
    "host": "box-1",
    "pid": 4242,
    "queues": ["high", "default"],
    "types": ["email"],
    "concurrency": 8,
    "active": 2,
    "processed": 5,
    "failed": 1,
}


def poll(http: httpx.Client, worker_id: str, queue: str, **params: Any) -> httpx.Response:
    return http.get("/api/v1/poll", params={"worker_id": worker_id, "queues": queue, **params})


def listed(http: httpx.Client) -> dict[str, dict[str, Any]]:
    return {w["id"]: w for w in http.get("/admin/workers").json()["workers"]}


def test_a_poll_shows_its_worker_in_admin_workers(http: httpx.Client, queue: str) -> None:
    worker_id = f"poller-{queue}"

    assert poll(http, worker_id, queue, types="echo,mail").status_code == 204

    worker = listed(http)[worker_id]
    assert {k: worker[k] for k in ("queues", "types", "state", "host", "active")} == {
        "queues": [queue],
        "types": ["echo", "mail"],
        "state": "active",
        "host": None,
        "active": 0,
    }
    assert worker["started_at"] == worker["last_seen"]
    assert http.get(f"/admin/workers/{worker_id}").json() == {"workers": [worker]}


def test_a_heartbeat_reports_the_details_and_keeps_what_it_leaves_out(http: httpx.Client, queue: str) -> None:
    worker_id = f"reporter-{queue}"

    first = http.post(f"/api/v1/workers/{worker_id}/heartbeat", json=REPORT)
    second = http.post(f"/api/v1/workers/{worker_id}/heartbeat", json={"active": 0, "processed": 7})

    assert (first.status_code, first.json()) == (200, {"state": "active"})
    assert second.json() == {"state": "active"}
    (worker,) = http.get(f"/admin/workers/{worker_id}").json()["workers"]
    assert worker == {
        **REPORT,
        "active": 0,
        "processed": 7,
        "id": worker_id,
        "state": "active",
        "started_at": worker["started_at"],
        "last_seen": worker["last_seen"],
    }
    assert worker["last_seen"] >= worker["started_at"]


def test_a_bad_report_is_422_and_changes_nothing(http: httpx.Client, queue: str) -> None:
    worker_id = f"bad-{queue}"
    http.post(f"/api/v1/workers/{worker_id}/heartbeat", json=REPORT)

    for body in ({"active": -1}, {"queues": ["no spaces"]}, {"concurrency": 0}, {"colour": "red"}, [1]):
        response = http.post(f"/api/v1/workers/{worker_id}/heartbeat", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"

    assert {k: listed(http)[worker_id][k] for k in REPORT} == REPORT


def test_an_unknown_worker_is_404_for_read_pause_and_resume(http: httpx.Client, queue: str) -> None:
    for response in (
        http.get(f"/admin/workers/ghost-{queue}"),
        http.post(f"/admin/workers/ghost-{queue}/pause"),
        http.post(f"/admin/workers/ghost-{queue}/resume"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert f"ghost-{queue}" not in listed(http)


def test_a_paused_worker_polls_nothing_until_resumed(http: httpx.Client, queue: str) -> None:
    worker_id = f"pausable-{queue}"
    poll(http, worker_id, queue)
    task = submit(http, queue)

    paused = http.post(f"/admin/workers/{worker_id}/pause")
    refused = poll(http, worker_id, queue)
    told = http.post(f"/api/v1/workers/{worker_id}/heartbeat", json={})
    other = poll(http, f"other-{queue}", queue, wait=0)  # the task is there for other workers

    assert paused.status_code == 200
    assert paused.json()["workers"][0]["state"] == "paused"
    assert listed(http)[worker_id]["state"] == "paused"
    assert refused.status_code == 204
    assert told.json() == {"state": "paused"}
    (taken,) = other.json()["tasks"]
    assert taken["id"] == task["id"]

    second = submit(http, queue)
    resumed = http.post(f"/admin/workers/{worker_id}/resume")
    (leased,) = poll(http, worker_id, queue).json()["tasks"]

    assert resumed.json()["workers"][0]["state"] == "active"
    assert leased["id"] == second["id"]
    assert http.post(f"/api/v1/workers/{worker_id}/heartbeat", json={}).json() == {"state": "active"}


def test_a_waiting_poll_of_a_worker_paused_meanwhile_leases_nothing(server: LiveServer, queue: str) -> None:
    worker_id = f"waiting-{queue}"
    results: list[httpx.Response] = []

    def wait_for_work() -> None:
        with server.client() as http:
            results.append(poll(http, worker_id, queue, wait=5))

    waiter = threading.Thread(target=wait_for_work)
    waiter.start()
    with server.client() as http:
        wait_until(lambda: worker_id in listed(http), what="the poll to register its worker")
        http.post(f"/admin/workers/{worker_id}/pause")
        task = submit(http, queue)
        waiter.join(timeout=20)

        assert not waiter.is_alive()
        assert results[0].status_code == 204
        assert http.get(f"/api/v1/tasks/{task['id']}").json()["state"] == "pending"


def test_a_waiting_poll_of_a_paused_worker_leases_once_resumed(server: LiveServer, queue: str) -> None:
    worker_id = f"resumed-{queue}"
    results: list[httpx.Response] = []
    with server.client() as http:
        poll(http, worker_id, queue)
        paused_seen = http.post(f"/admin/workers/{worker_id}/pause").json()["workers"][0]["last_seen"]
        task = submit(http, queue)

        def wait_for_work() -> None:
            with server.client() as waiting:
                results.append(poll(waiting, worker_id, queue, wait=30))

        waiter = threading.Thread(target=wait_for_work)
        waiter.start()
        # Only the waiting poll refreshes this worker: a new sighting says it is waiting out the pause.
        wait_until(lambda: listed(http)[worker_id]["last_seen"] != paused_seen, what="the paused poll to look again")
        assert waiter.is_alive()
        http.post(f"/admin/workers/{worker_id}/resume")
        waiter.join(timeout=20)

    assert not waiter.is_alive()  # well before its 30 s wait ran out
    assert results[0].json()["tasks"][0]["id"] == task["id"]


def test_a_worker_that_leaves_is_gone_at_once(http: httpx.Client, queue: str) -> None:
    worker_id = f"leaving-{queue}"
    http.post(f"/api/v1/workers/{worker_id}/heartbeat", json=REPORT)

    left = http.delete(f"/api/v1/workers/{worker_id}")
    again = http.delete(f"/api/v1/workers/{worker_id}")

    assert (left.status_code, left.content) == (204, b"")
    assert again.status_code == 204
    assert worker_id not in listed(http)
    assert http.get(f"/admin/workers/{worker_id}").status_code == 404


def test_a_poll_waiting_as_its_worker_leaves_does_not_bring_it_back(server: LiveServer, queue: str) -> None:
    worker_id = f"ghost-{queue}"
    results: list[httpx.Response] = []

    def wait_for_work() -> None:
        with server.client() as http:
            results.append(poll(http, worker_id, queue, wait=30))

    waiter = threading.Thread(target=wait_for_work)
    waiter.start()
    with server.client() as http:
        wait_until(lambda: worker_id in listed(http), what="the poll to register its worker")
        assert http.delete(f"/api/v1/workers/{worker_id}").status_code == 204
        # The task wakes the poll, which looks at its worker again before it leases: that
        # sighting began before the worker left, so it is not recorded.
        task = submit(http, queue)
        waiter.join(timeout=20)

        assert not waiter.is_alive()
        assert results[0].json()["tasks"][0]["id"] == task["id"]
        assert worker_id not in listed(http)
        assert http.get(f"/admin/workers/{worker_id}").status_code == 404
        # A poll that begins now is the worker starting again.
        poll(http, worker_id, queue)
        assert worker_id in listed(http)


def test_stats_counts_the_workers_seen(http: httpx.Client, queue: str) -> None:
    before = http.get("/api/v1/stats").json()["workers"]
    poll(http, f"counted-a-{queue}", queue)
    http.post(f"/api/v1/workers/counted-b-{queue}/heartbeat", json=REPORT)
    poll(http, f"counted-b-{queue}", queue)  # the same worker, seen twice

    assert http.get("/api/v1/stats").json()["workers"] == before + 2
    assert len(listed(http)) == before + 2
    http.delete(f"/api/v1/workers/counted-a-{queue}")
    assert http.get("/api/v1/stats").json()["workers"] == before + 1
