"""Producer routes over HTTP (SPEC §3), on both backends behind a real server."""

import uuid
from typing import Any

import httpx


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def submit(http: httpx.Client, queue: str, **fields: Any) -> dict[str, Any]:
    response = http.post("/api/v1/tasks", json={"type": "echo", "queue": queue, **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_submit_returns_the_whole_task(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue, payload={"to": "x"}, priority="high", metadata={"m": 1})

    assert uuid.UUID(task["id"]).version == 7
    assert (task["state"], task["priority"], task["attempts"], task["payload"]) == ("pending", 2, 0, {"to": "x"})
    assert task["created_at"].endswith("Z")
    expected = {
        "id", "type", "queue", "payload", "priority", "max_retries", "timeout", "scheduled_at", "unique_key",
        "unique_ttl", "metadata", "webhook", "state", "attempts", "result", "error", "errors", "progress",
        "worker_id", "cancel_requested", "webhook_status", "created_at", "updated_at", "started_at", "completed_at",
    }  # fmt: skip
    assert set(task) == expected
    assert http.get(f"/api/v1/tasks/{task['id']}").json() == task


def test_delay_shows_the_resulting_scheduled_at(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue, delay=60)

    assert task["state"] == "scheduled"
    assert task["scheduled_at"] > task["created_at"]


def test_an_unknown_task_is_404(http: httpx.Client) -> None:
    response = http.get(f"/api/v1/tasks/{uuid.uuid4()}")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_validation_names_each_field(http: httpx.Client, queue: str) -> None:
    response = http.post("/api/v1/tasks", json={"type": "a b", "queue": queue, "priority": True, "state": "x"})

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert {d["field"] for d in error["details"]} == {"type", "priority", "state"}
    assert http.get("/api/v1/tasks", params={"queue": queue}).json()["tasks"] == []


def test_malformed_json_is_400(http: httpx.Client) -> None:
    response = http.post("/api/v1/tasks", content=b'{"type": ', headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


def test_the_frameworks_own_errors_have_the_same_shape(http: httpx.Client) -> None:
    missing = http.get("/api/v1/nothing-here")
    wrong_method = http.put("/api/v1/tasks")

    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")
    assert (wrong_method.status_code, error_of(wrong_method)["code"]) == (405, "method_not_allowed")


def test_unique_key_hit_is_200_with_the_same_task(http: httpx.Client, queue: str) -> None:
    first = submit(http, queue, unique_key="order-7")
    again = http.post("/api/v1/tasks", json={"type": "echo", "queue": queue, "unique_key": "order-7"})

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]


def test_idempotency_key_header(http: httpx.Client, queue: str) -> None:
    body = {"type": "echo", "queue": queue, "payload": {"n": 1}}
    first = http.post("/api/v1/tasks", json=body, headers={"Idempotency-Key": "req-1"})
    same = http.post("/api/v1/tasks", json=body, headers={"Idempotency-Key": "req-1"})
    other = http.post("/api/v1/tasks", json={**body, "payload": {"n": 2}}, headers={"Idempotency-Key": "req-1"})

    assert (first.status_code, same.status_code) == (201, 200)
    assert same.json()["id"] == first.json()["id"]
    assert other.status_code == 409
    assert error_of(other)["code"] == "idempotency_conflict"


def test_bulk_submits_in_order(http: httpx.Client, queue: str) -> None:
    response = http.post("/api/v1/tasks/bulk", json=[{"type": "echo", "queue": queue, "payload": i} for i in range(50)])

    assert response.status_code == 201
    assert [t["payload"] for t in response.json()["tasks"]] == list(range(50))


def test_bulk_with_one_bad_item_enqueues_nothing(http: httpx.Client, queue: str) -> None:
    items: list[Any] = [{"type": "echo", "queue": queue}, {"type": "echo", "queue": queue, "max_retries": -1}]

    response = http.post("/api/v1/tasks/bulk", json=items)

    assert response.status_code == 422
    assert error_of(response)["details"] == [
        {"index": 1, "field": "max_retries", "message": "must be an integer from 0 to 100"}
    ]
    assert http.get("/api/v1/tasks", params={"queue": queue}).json()["tasks"] == []


def test_bulk_size_bounds(http: httpx.Client, queue: str) -> None:
    assert http.post("/api/v1/tasks/bulk", json=[]).status_code == 422
    assert http.post("/api/v1/tasks/bulk", json=[{"type": "echo", "queue": queue}] * 1001).status_code == 422
    assert http.post("/api/v1/tasks/bulk", json={"type": "echo"}).status_code == 422


def test_list_filters_and_pages(http: httpx.Client, queue: str) -> None:
    ids = [submit(http, queue, type="a" if i % 2 else "b")["id"] for i in range(7)]

    first = http.get("/api/v1/tasks", params={"queue": queue, "limit": 3}).json()
    rest = http.get("/api/v1/tasks", params={"queue": queue, "limit": 50, "cursor": first["next_cursor"]}).json()
    only_a = http.get("/api/v1/tasks", params={"queue": queue, "type": "a"}).json()

    assert [t["id"] for t in first["tasks"] + rest["tasks"]] == ids[::-1]
    assert rest["next_cursor"] is None
    assert [t["id"] for t in only_a["tasks"]] == ids[1::2][::-1]


def test_list_refuses_a_bad_state_or_limit(http: httpx.Client) -> None:
    for params in ({"state": "sleeping"}, {"limit": 0}, {"limit": 501}):
        response = http.get("/api/v1/tasks", params=params)
        assert response.status_code == 422
        assert error_of(response)["code"] == "validation_error"


def test_cancel_then_cancel_again(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)

    cancelled = http.delete(f"/api/v1/tasks/{task['id']}")
    again = http.delete(f"/api/v1/tasks/{task['id']}")

    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
    assert again.status_code == 409
    assert http.delete(f"/api/v1/tasks/{uuid.uuid4()}").status_code == 404


def test_retry_with_a_new_payload(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue, payload={"v": 1})
    assert http.post(f"/api/v1/tasks/{task['id']}/retry").status_code == 409
    http.delete(f"/api/v1/tasks/{task['id']}")

    retried = http.post(f"/api/v1/tasks/{task['id']}/retry", json={"payload": {"v": 2}})

    assert retried.status_code == 200
    assert (retried.json()["state"], retried.json()["payload"]) == ("pending", {"v": 2})


def test_stats_and_queues(http: httpx.Client, queue: str) -> None:
    submit(http, queue, priority="critical")
    submit(http, queue, delay=60)

    stats = http.get("/api/v1/stats").json()
    queues = {q["name"]: q for q in http.get("/api/v1/queues").json()["queues"]}

    assert set(stats["states"]) == {"pending", "scheduled", "running", "retrying", "completed", "failed", "cancelled"}
    assert stats["total"] == sum(stats["states"].values())
    assert queues[queue]["pending"] == {"low": 0, "normal": 0, "high": 0, "critical": 1}
    assert (queues[queue]["scheduled"], queues[queue]["paused"]) == (1, False)


def test_health(http: httpx.Client) -> None:
    body = http.get("/health").json()

    assert body["status"] == "healthy"
    assert body["backend"] in ("sqlite", "redis")
    assert http.get("/admin/health").status_code == 200


def test_an_overlong_idempotency_key_is_422_and_stores_nothing(http: httpx.Client, queue: str) -> None:
    response = http.post("/api/v1/tasks", json={"type": "echo", "queue": queue}, headers={"Idempotency-Key": "k" * 257})

    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "Idempotency-Key"
    assert http.get("/api/v1/tasks", params={"queue": queue}).json()["tasks"] == []
