"""Every route's 404 says what was not found (issue 14): `no <resource> <id>` with details
`{"resource", "id"}`, the same on both backends and whichever path (script, SQL, service) refused."""

import uuid
from typing import Any

import httpx
import pytest

TOKEN = {"token": "0" * 32}


def _missing_task() -> str:
    return str(uuid.UUID(int=uuid.uuid4().int & ~(0xF << 76) | (0x7 << 76)))  # a UUIDv7 nobody made


TASK_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/tasks/{id}", None),
    ("DELETE", "/api/v1/tasks/{id}", None),
    ("POST", "/api/v1/tasks/{id}/retry", None),
    ("POST", "/admin/tasks/{id}/retry", None),
    ("POST", "/api/v1/tasks/{id}/heartbeat", TOKEN),
    ("POST", "/api/v1/tasks/{id}/complete", TOKEN),
    ("POST", "/api/v1/tasks/{id}/fail", {**TOKEN, "error": "x"}),
    ("POST", "/api/v1/tasks/{id}/release", TOKEN),
]


def _refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 404, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "not_found"
    return error


@pytest.mark.parametrize(("method", "path", "body"), TASK_ROUTES, ids=[f"{m} {p}" for m, p, _ in TASK_ROUTES])
def test_an_unknown_task_is_named(http: httpx.Client, method: str, path: str, body: dict[str, Any] | None) -> None:
    task_id = _missing_task()

    error = _refused(http.request(method, path.format(id=task_id), json=body))

    assert error["message"] == f"no task {task_id}"
    assert error["details"] == {"resource": "task", "id": task_id}


def test_an_unknown_task_in_a_batch_report_is_named(http: httpx.Client) -> None:
    task_id = _missing_task()

    answer = http.post("/api/v1/outcomes", json={"outcomes": [{"id": task_id, **TOKEN, "result": 1}]})

    assert answer.json()["results"] == [
        {"id": task_id, "error": {"code": "not_found", "message": f"no task {task_id}"}}
    ]


@pytest.mark.parametrize("suffix", ["", "/pause", "/resume"])
def test_an_unknown_worker_is_named(http: httpx.Client, queue: str, suffix: str) -> None:
    worker_id = f"ghost/{queue}"
    method = "GET" if not suffix else "POST"

    error = _refused(http.request(method, f"/admin/workers/{worker_id}{suffix}"))

    assert error["message"].startswith(f"no worker {worker_id}")
    assert error["details"] == {"resource": "worker", "id": worker_id}


def test_a_worker_that_left_is_named(http: httpx.Client, queue: str) -> None:
    worker_id = f"gone-{queue}"
    http.post(f"/api/v1/workers/{worker_id}/heartbeat", json={})
    http.delete(f"/api/v1/workers/{worker_id}")

    error = _refused(http.get(f"/admin/workers/{worker_id}"))

    assert error["message"] == f"no worker {worker_id} seen in the last 60s"


def test_an_unknown_route_names_the_path(http: httpx.Client) -> None:
    assert _refused(http.get("/api/v1/nothing-here"))["message"] == "there is no route /api/v1/nothing-here"
