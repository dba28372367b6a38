"""Put a live server's tasks into named states through its HTTP API, as any producer or external
worker would, so a browser test reads "given a failed task" rather than as a list of requests."""

from typing import Any

import httpx


def submit(http: httpx.Client, type: str = "echo", payload: Any = None, **fields: Any) -> dict[str, Any]:
    response = http.post("/api/v1/tasks", json={"type": type, "payload": {} if payload is None else payload, **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def lease(http: httpx.Client, task: dict[str, Any], worker_id: str = "seed-worker") -> str:
    """Lease exactly `task` (the only pending one of its queue and type); its lease token.

    The poll registers `worker_id` in the worker list (SPEC §3), as any external worker's does.
    """
    params = {"worker_id": worker_id, "queues": task["queue"], "types": task["type"], "max": "1"}
    response = http.get("/api/v1/poll", params=params)
    assert response.status_code == 200, response.text
    (leased,) = response.json()["tasks"]
    assert leased["id"] == task["id"]
    token: str = leased["lease"]["token"]
    return token


def completed(
    http: httpx.Client,
    type: str = "echo",
    payload: Any = None,
    *,
    result: Any = None,
    worker_id: str = "seed-worker",
    **fields: Any,
) -> dict[str, Any]:
    task = submit(http, type, payload, **fields)
    token = lease(http, task, worker_id)
    response = http.post(f"/api/v1/tasks/{task['id']}/complete", json={"token": token, "result": result})
    assert response.status_code == 200, response.text
    done: dict[str, Any] = response.json()
    return done


def failed(
    http: httpx.Client,
    type: str = "echo",
    payload: Any = None,
    *,
    error: str = "boom",
    worker_id: str = "seed-worker",
    **fields: Any,
) -> dict[str, Any]:
    """A task in the DLQ: its one attempt failed with `error`, no retry."""
    task = submit(http, type, payload, **fields)
    token = lease(http, task, worker_id)
    response = http.post(f"/api/v1/tasks/{task['id']}/fail", json={"token": token, "error": error, "retry": False})
    assert response.status_code == 200, response.text
    dead: dict[str, Any] = response.json()
    assert dead["state"] == "failed"
    return dead


def task(http: httpx.Client, task_id: str) -> dict[str, Any]:
    response = http.get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
