"""What the fuzzers (tests/fuzz) found, one regression test each, on both backends."""

import httpx
import pytest

from tests.helpers.live import LiveServer

TASK = {"type": "echo", "payload": {"n": 1}}


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert field in {item["field"] for item in response.json()["error"]["details"]}


@pytest.mark.parametrize("field", ["pid", "processed", "failed", "active", "concurrency"])
def test_a_worker_count_past_64_bits_is_422_not_a_500(http: httpx.Client, field: str) -> None:
    # SQLite's INTEGER overflowed (OverflowError → 500) on a count no 64-bit store keeps.
    response = http.post("/api/v1/workers/w-huge/heartbeat", json={field: 2**64})
    assert_refused(response, field)
    assert http.post("/api/v1/workers/w-huge/heartbeat", json={field: 2**63 - 1}).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/workers/w-bool/heartbeat", {"processed": False}, "processed"),
        ("/api/v1/workers/w-bool/heartbeat", {"concurrency": 2.0}, "concurrency"),
        ("/api/v1/tasks/t/heartbeat", {"token": "x", "progress": True}, "progress"),
        ("/api/v1/tasks/t/fail", {"token": "x", "error": "e", "retry": 0}, "retry"),
    ],
)
def test_a_boolean_for_a_number_or_a_number_for_a_boolean_is_422(
    http: httpx.Client, path: str, body: dict[str, object], field: str
) -> None:
    """As SPEC §1 says of priority, for every body: no coercion between JSON's types."""
    assert_refused(http.post(path, json=body), field)


def test_null_for_an_optional_task_field_is_the_field_left_out(http: httpx.Client, queue: str) -> None:
    """A client that sends every field (or resends a task as it read it) sends nulls."""
    nulls = {"scheduled_at": None, "delay": None, "unique_key": None, "webhook": None}
    for response in (
        http.post("/api/v1/tasks", json={**TASK, "queue": queue, **nulls}),
        http.post("/api/v1/tasks", json={**TASK, "queue": queue, **nulls, "delay": 0}),
    ):
        assert response.status_code == 201, response.text
        task = response.json()
        assert (task["state"], task["scheduled_at"], task["unique_key"], task["webhook"]) == (
            "pending",
            None,
            None,
            None,
        )
    bulk = http.post("/api/v1/tasks/bulk", json=[{**TASK, "queue": queue, **nulls}])
    assert bulk.status_code == 201, bulk.text


def _failed_task(http: httpx.Client, queue: str) -> str:
    task_id = http.post("/api/v1/tasks", json={**TASK, "queue": queue, "max_retries": 0}).json()["id"]
    lease = http.get("/api/v1/poll", params={"worker_id": "w", "queues": queue}).json()["tasks"][0]["lease"]
    assert http.post(f"/api/v1/tasks/{task_id}/fail", json={"token": lease["token"], "error": "x"}).status_code == 200
    return task_id


@pytest.mark.parametrize("body", [b"null", b'{"ids": null}', b"[]", b'"ids"'])
def test_a_null_dlq_retry_body_is_422_and_retries_nothing(http: httpx.Client, queue: str, body: bytes) -> None:
    # `null` (or `{"ids": null}`) was taken for "no body": every failed task was retried.
    task_id = _failed_task(http, queue)
    response = http.post("/admin/dlq/retry", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert http.get(f"/api/v1/tasks/{task_id}").json()["state"] == "failed"


def test_a_null_task_retry_body_is_422(http: httpx.Client, queue: str) -> None:
    task_id = _failed_task(http, queue)
    response = http.post(
        f"/api/v1/tasks/{task_id}/retry", content=b"null", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert http.get(f"/api/v1/tasks/{task_id}").json()["state"] == "failed"
    assert http.post(f"/api/v1/tasks/{task_id}/retry").json()["state"] == "pending"  # no body: as it was


@pytest.mark.parametrize(("path", "allowed"), [("/api/v1/tasks", "GET, POST"), ("/api/v1/tasks/x", "DELETE, GET")])
def test_a_405_lists_every_method_the_path_takes(http: httpx.Client, path: str, allowed: str) -> None:
    # Starlette named only the first route that matched the path (`Allow: POST` on /tasks).
    response = http.request("PUT", path)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == allowed


def test_the_document_names_every_status_the_routes_answer(server: LiveServer) -> None:
    """A poll's 204 and a unique submit's 200 were missing from docs/openapi.json."""
    with server.client() as http:
        document = http.get("/openapi.json").json()
    assert "204" in document["paths"]["/api/v1/poll"]["get"]["responses"]
    assert {"200", "201"} <= set(document["paths"]["/api/v1/tasks"]["post"]["responses"])


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [300, 1000])
def test_json_nested_deeper_than_a_store_keeps_is_422_not_a_500(http: httpx.Client, queue: str, depth: int) -> None:
    # The request's parser takes 1,024 levels, the encoder that stores a task 254: between the
    # two, submit, retry and complete failed with "Recursion limit reached" as a 500.
    nested = _nested(depth)
    json = {"content-type": "application/json"}
    task = b'{"type": "t", "queue": "%s", ' % queue.encode()
    for body, field in (
        (task + b'"payload": ' + nested + b"}", "payload"),
        (task + b'"metadata": {"a": ' + nested + b"}}", "metadata"),
    ):
        assert_refused(http.post("/api/v1/tasks", content=body, headers=json), field)
        bulk = http.post("/api/v1/tasks/bulk", content=b"[" + body + b"]", headers=json)
        assert bulk.status_code == 422, bulk.text
    assert http.get("/api/v1/tasks", params={"queue": queue}).json()["tasks"] == []

    task_id = http.post("/api/v1/tasks", json={**TASK, "queue": queue}).json()["id"]
    token = http.get("/api/v1/poll", params={"worker_id": "w", "queues": queue}).json()["tasks"][0]["lease"]["token"]
    result = b'{"token": "%s", "result": ' % token.encode() + nested + b"}"
    completed = http.post(f"/api/v1/tasks/{task_id}/complete", content=result, headers=json)
    if depth > 999:  # past the parser of pydantic-bodied routes too: malformed JSON, as SPEC §1 says
        assert completed.status_code == 400, completed.text
        assert completed.json()["error"]["code"] == "invalid_json"
    else:
        assert_refused(completed, "result")
    assert http.get(f"/api/v1/tasks/{task_id}").json()["state"] == "running"
    assert (
        http.post(f"/api/v1/tasks/{task_id}/fail", json={"token": token, "error": "x", "retry": False}).status_code
        == 200
    )
    retry = http.post(f"/api/v1/tasks/{task_id}/retry", content=b'{"payload": ' + nested + b"}", headers=json)
    assert_refused(retry, "payload")
    assert http.get(f"/api/v1/tasks/{task_id}").json()["state"] == "failed"


@pytest.mark.parametrize("path", ["/api/v1/tasks/t/complete", "/api/v1/workers/w/heartbeat", "/api/v1/outcomes"])
def test_malformed_json_is_400_invalid_json_on_every_body_route(http: httpx.Client, path: str) -> None:
    # The routes whose body is a pydantic model answered 422 validation_error (field "1").
    response = http.post(path, content=b"{bad", headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_json"
