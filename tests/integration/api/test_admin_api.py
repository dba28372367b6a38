"""Admin routes over HTTP (SPEC §3 "Admin"), on both backends behind a real server."""

import uuid
from typing import Any

import httpx

from tests.integration.api.conftest import StartServer
from tests.integration.api.test_tasks_api import error_of, submit


def fail_for_good(http: httpx.Client, queue: str, **fields: Any) -> dict[str, Any]:
    """A task in the DLQ: submitted, leased, failed without retry."""
    task = submit(http, queue, **fields)
    (leased,) = http.get("/api/v1/poll", params={"worker_id": "w", "queues": queue}).json()["tasks"]
    body = {"token": leased["lease"]["token"], "error": "x", "retry": False}
    failed = http.post(f"/api/v1/tasks/{task['id']}/fail", json=body)
    assert failed.json()["state"] == "failed"
    return failed.json()  # type: ignore[no-any-return]


def queue_of(http: httpx.Client, queue: str) -> dict[str, Any]:
    (found,) = [q for q in http.get("/admin/queues").json()["queues"] if q["name"] == queue]
    return found  # type: ignore[no-any-return]


def test_admin_queues_is_the_api_queues(http: httpx.Client, queue: str) -> None:
    submit(http, queue, priority="high")

    assert http.get("/admin/queues").json() == http.get("/api/v1/queues").json()
    assert queue_of(http, queue)["pending"]["high"] == 1


def test_a_paused_queue_accepts_submits_but_leases_nothing(http: httpx.Client, queue: str) -> None:
    paused = http.post(f"/admin/queues/{queue}/pause")
    task = submit(http, queue)
    poll = http.get("/api/v1/poll", params={"worker_id": "w", "queues": queue})

    assert (paused.status_code, paused.json()) == (200, {"queue": queue, "paused": True})
    assert queue_of(http, queue)["paused"] is True
    assert poll.status_code == 204

    resumed = http.post(f"/admin/queues/{queue}/resume")
    (leased,) = http.get("/api/v1/poll", params={"worker_id": "w", "queues": queue}).json()["tasks"]

    assert resumed.json() == {"queue": queue, "paused": False}
    assert leased["id"] == task["id"]
    assert queue_of(http, queue)["paused"] is False


def test_purge_one_priority_then_all(http: httpx.Client, queue: str) -> None:
    for priority in ("low", "low", "high", "critical"):
        submit(http, queue, priority=priority)
    scheduled = submit(http, queue, delay=60)

    low = http.delete(f"/admin/queues/{queue}", params={"priority": "low"})
    high = http.delete(f"/admin/queues/{queue}", params={"priority": "2"})
    rest = http.delete(f"/admin/queues/{queue}")

    assert [low.json(), high.json(), rest.json()] == [{"purged": 2}, {"purged": 1}, {"purged": 1}]
    assert queue_of(http, queue)["pending"] == {"low": 0, "normal": 0, "high": 0, "critical": 0}
    assert http.get(f"/api/v1/tasks/{scheduled['id']}").json()["state"] == "scheduled"  # only pending goes


def test_bad_queue_names_and_priorities_are_422_and_change_nothing(http: httpx.Client, queue: str) -> None:
    submit(http, queue)

    bad_priority = http.delete(f"/admin/queues/{queue}", params={"priority": "urgent"})
    bad_name = http.post("/admin/queues/no{braces}/pause")

    assert (bad_priority.status_code, error_of(bad_priority)["code"]) == (422, "validation_error")
    assert error_of(bad_priority)["details"][0]["field"] == "priority"
    assert (bad_name.status_code, error_of(bad_name)["code"]) == (422, "validation_error")
    assert queue_of(http, queue)["pending"]["normal"] == 1


def test_admin_retry_is_the_api_retry(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue, payload={"v": 1})
    refused = http.post(f"/admin/tasks/{task['id']}/retry")
    http.delete(f"/api/v1/tasks/{task['id']}")

    retried = http.post(f"/admin/tasks/{task['id']}/retry", json={"payload": {"v": 2}})
    missing = http.post(f"/admin/tasks/{uuid.uuid4()}/retry")

    assert (refused.status_code, error_of(refused)["code"]) == (409, "invalid_state")
    assert (retried.json()["state"], retried.json()["payload"]) == ("pending", {"v": 2})
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")


def test_the_dead_letter_queue(start_server: StartServer) -> None:
    queue = "dlq"
    with start_server() as live, live.client() as http:
        failed = [fail_for_good(http, queue, payload=i)["id"] for i in range(5)]
        submit(http, queue)  # pending: never in the DLQ

        first = http.get("/admin/dlq", params={"limit": 3}).json()
        rest = http.get("/admin/dlq", params={"limit": 3, "cursor": first["next_cursor"]}).json()
        assert [t["id"] for t in first["tasks"] + rest["tasks"]] == failed[::-1]  # most recently failed first
        assert rest["next_cursor"] is None
        assert {t["state"] for t in first["tasks"]} == {"failed"}

        some = http.post("/admin/dlq/retry", json={"ids": [failed[0], failed[1], str(uuid.uuid4())]})
        assert some.json() == {"retried": 2}
        assert http.get(f"/api/v1/tasks/{failed[0]}").json()["state"] == "pending"

        everything = http.post("/admin/dlq/retry")
        assert everything.json() == {"retried": 3}
        assert http.get("/admin/dlq").json() == {"tasks": [], "next_cursor": None}

        doomed = [fail_for_good(http, "dlq2")["id"] for _ in range(2)]
        deleted = http.delete("/admin/dlq")
        assert deleted.json() == {"deleted": 2}
        assert [http.get(f"/api/v1/tasks/{i}").status_code for i in doomed] == [404, 404]


def test_dlq_bodies_and_limits_are_validated(http: httpx.Client) -> None:
    for body in ({"ids": "x"}, {"ids": []}, {"ids": [1]}, {"other": 1}, [1]):
        response = http.post("/admin/dlq/retry", json=body)
        assert (response.status_code, error_of(response)["code"]) == (422, "validation_error"), body
    for params in ({"limit": 0}, {"limit": 501}):
        assert http.get("/admin/dlq", params=params).status_code == 422
    assert http.post("/admin/dlq/retry", content=b"{", headers={"content-type": "application/json"}).status_code == 400
