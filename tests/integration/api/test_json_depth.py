"""Deeply nested JSON over HTTP, on both backends: a body nested past any parser's limit is
400 in SPEC's shape (never a 500), a value past `MAX_DEPTH` is 422 naming its field with
nothing stored, and a value at the limit is stored and read back by every route that
shows it (a value taken that no listing could encode was a 500 on every listing after)."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from taskline.backends.sqlite.backend import SqliteBackend
from taskline.core.config import EngineConfig
from taskline.core.jsonvalue import MAX_DEPTH
from taskline.core.outcomes import Completion
from taskline.core.task import TaskState
from taskline.errors import ValidationFailed
from taskline.service import TaskService

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
    assert fields["result"] == {"result"}
    assert http.get("/api/v1/stats").json() == before
    assert http.get(f"/api/v1/tasks/{task['id']}").json()["state"] == "running"


def test_a_result_past_the_limit_is_one_422_from_complete_from_outcomes_and_in_process(
    http: httpx.Client, queue: str, tmp_path: Path
) -> None:
    """One rule, checked once, where every report passes (TaskService): `complete` and
    `/outcomes` over HTTP and a report straight on the backend (as `Client("redis://…")` and the
    Python worker make) get the same error; `/outcomes` names the outcome by its index, as a bulk
    submit names its task, and settles none of the batch."""
    first, second = lease(http, queue), lease(http, queue)
    complete = post(
        http, f"/api/v1/tasks/{first['id']}/complete", {"token": first["lease"]["token"], "result": DEEP}, MAX_DEPTH + 1
    )
    outcomes = [
        {"id": second["id"], "token": second["lease"]["token"], "result": 1},
        {"id": first["id"], "token": first["lease"]["token"], "result": DEEP},
    ]
    batch = post(http, "/api/v1/outcomes", {"outcomes": outcomes}, MAX_DEPTH + 1)
    in_process = asyncio.run(_settled_in_process(tmp_path, orjson.loads(body(DEEP, MAX_DEPTH + 1))))

    deeper = f"nests deeper than {MAX_DEPTH} levels of arrays and objects"
    assert complete.status_code == 422
    assert (
        complete.json()["error"]
        == in_process
        == {
            "code": "validation_error",
            "message": f"result {deeper}",
            "details": [{"field": "result", "message": deeper}],
        }
    )
    assert batch.status_code == 422
    assert batch.json()["error"] == {
        "code": "validation_error",
        "message": "some results cannot be stored as JSON; nothing was settled",
        "details": [{"index": 1, "field": "result", "message": deeper}],
    }
    states = {http.get(f"/api/v1/tasks/{task['id']}").json()["state"] for task in (first, second)}
    assert states == {"running"}


async def _settled_in_process(tmp_path: Path, result: Any) -> dict[str, Any]:
    """The error `TaskService.settle_one` raises for a completion with `result`, as the API words it."""
    store = await SqliteBackend.open(tmp_path / "in-process.db", config=EngineConfig())
    try:
        service = TaskService(store)
        await service.submit({"type": "deep"})
        (leased,) = await service.poll(worker_id="w", queues=None, types=None, wait_s=0, max=1)
        with pytest.raises(ValidationFailed) as refused:
            await service.settle_one(Completion(leased.task.id, leased.token, result))
        assert (await service.get(leased.task.id)).state is TaskState.RUNNING
    finally:
        await store.close()
    return {"code": refused.value.code, "message": refused.value.message, "details": refused.value.details}


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
