"""Deeply nested JSON over HTTP, on both backends: a body nested past any parser's limit is
400 in SPEC's shape (never a 500), a value past `MAX_DEPTH` is 422 naming its field with
nothing stored, and a value at the limit is stored and read back by every route that
shows it (a value taken that no listing could encode was a 500 on every listing after)."""

from typing import Any

import httpx
import orjson

from taskline.core.jsonvalue import MAX_DEPTH

DEEP = "<deep>"  # where `body` puts the nested arrays


def body(template: Any, depth: int) -> bytes:
    """`template` as JSON with each "<deep>" string replaced by `depth` nested arrays."""
    return orjson.dumps(template).replace(f'"{DEEP}"'.encode(), b"[" * depth + b"]" * depth)


def post(http: httpx.Client, path: str, template: Any, depth: int) -> httpx.Response:
    return http.post(path, content=body(template, depth), headers={"content-type": "application/json"})


def lease(http: httpx.Client, queue: str) -> dict[str, Any]:
    assert http.post("/api/v1/tasks", json={"type": "echo", "queue": queue}).status_code == 201
    (task,) = http.get("/api/v1/poll", params={"worker_id": "w", "queues": queue}).json()["tasks"]
    return dict(task)


def test_ten_thousand_nested_arrays_are_400_on_every_route_that_reads_a_body(http: httpx.Client, queue: str) -> None:
    task = lease(http, queue)
    path, token = f"/api/v1/tasks/{task['id']}", task["lease"]["token"]
    bodies = {
        "/api/v1/tasks": {"type": "echo", "payload": DEEP},
        "/api/v1/tasks/bulk": [{"type": "echo", "payload": DEEP}],
        f"{path}/complete": {"token": token, "result": DEEP},
        f"{path}/heartbeat": {"token": token, "progress": DEEP},
        f"{path}/retry": {"payload": DEEP},
        "/api/v1/outcomes": {"outcomes": [{"id": task["id"], "token": token, "result": DEEP}]},
        "/admin/dlq/retry": {"ids": DEEP},
        "/api/v1/workers/w/heartbeat": {"queues": DEEP},
    }
    before = http.get("/api/v1/stats").json()

    answers = {path: post(http, path, template, 10_000) for path, template in bodies.items()}

    for path, answer in answers.items():
        assert answer.status_code == 400, (path, answer.text)
        assert set(answer.json()["error"]) == {"code", "message", "details"}, path
    assert http.get("/api/v1/stats").json() == before
    assert http.get(f"/api/v1/tasks/{task['id']}").json()["state"] == "running"


def test_a_value_past_the_limit_is_422_naming_its_field_and_nothing_is_stored(http: httpx.Client, queue: str) -> None:
    task = lease(http, queue)
    before = http.get("/api/v1/stats").json()

    refused = {
        "payload": post(http, "/api/v1/tasks", {"type": "e", "payload": DEEP}, MAX_DEPTH + 1),
        "bulk": post(http, "/api/v1/tasks/bulk", [{"type": "e", "payload": DEEP}], MAX_DEPTH + 1),
        "metadata": post(http, "/api/v1/tasks", {"type": "e", "metadata": {"m": DEEP}}, MAX_DEPTH),
        "result": post(
            http,
            f"/api/v1/tasks/{task['id']}/complete",
            {"token": task["lease"]["token"], "result": DEEP},
            MAX_DEPTH + 1,
        ),
    }

    for what, answer in refused.items():
        assert answer.status_code == 422, (what, answer.text)
        assert answer.json()["error"]["code"] == "validation_error"
    fields = {what: {d.get("field") for d in a.json()["error"]["details"]} for what, a in refused.items()}
    assert fields["payload"] == {"payload"}
    assert fields["metadata"] == {"metadata"}
    assert any("result" in str(field) for field in fields["result"])
    assert http.get("/api/v1/stats").json() == before
    assert http.get(f"/api/v1/tasks/{task['id']}").json()["state"] == "running"


def test_a_value_at_the_limit_is_stored_and_every_route_that_shows_it_answers(http: httpx.Client, queue: str) -> None:
    task = lease(http, queue)
    stored = post(http, "/api/v1/tasks", {"type": "e", "queue": queue, "payload": DEEP}, MAX_DEPTH)
    completed = post(
        http, f"/api/v1/tasks/{task['id']}/complete", {"token": task["lease"]["token"], "result": DEEP}, MAX_DEPTH
    )

    assert (stored.status_code, completed.status_code) == (201, 200)
    listing = http.get("/api/v1/tasks", params={"queue": queue})
    assert listing.status_code == 200
    assert len(listing.json()["tasks"]) == 2
    assert http.get(f"/api/v1/tasks/{stored.json()['id']}").status_code == 200
    assert http.get("/admin/queues").status_code == 200
