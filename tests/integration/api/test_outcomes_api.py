"""Reporting outcomes and leasing the next tasks in one request: `complete?next=`,
`fail?next=` and the batch route `/outcomes`."""

import uuid
from typing import Any

import httpx

from tests.integration.api.test_workers_api import poll, submit


def lease(http: httpx.Client, queue: str, count: int = 1) -> list[dict[str, Any]]:
    leased: list[dict[str, Any]] = poll(http, queue, max=count).json()["tasks"]
    assert len(leased) == count
    return leased


def test_complete_with_next_answers_with_the_task_and_the_next_leases(http: httpx.Client, queue: str) -> None:
    first = submit(http, queue)
    (leased,) = lease(http, queue)
    low = submit(http, queue, priority="low")
    high = submit(http, queue, priority="high")

    response = http.post(
        f"/api/v1/tasks/{first['id']}/complete",
        params={"next": 5, "worker_id": "w2", "queues": queue, "types": "echo"},
        json={"token": leased["lease"]["token"], "result": {"ok": 1}},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["state"], body["result"]) == (first["id"], "completed", {"ok": 1})
    assert [t["id"] for t in body["next"]] == [high["id"], low["id"]]
    assert all(t["state"] == "running" and t["worker_id"] == "w2" for t in body["next"])
    for task in body["next"]:
        done = http.post(f"/api/v1/tasks/{task['id']}/complete", json={"token": task["lease"]["token"]})
        assert done.json()["state"] == "completed"


def test_complete_and_fail_without_next_answer_as_before(http: httpx.Client, queue: str) -> None:
    done, failed = submit(http, queue), submit(http, queue)
    first, second = lease(http, queue, 2)
    waiting = submit(http, queue)

    completed = http.post(f"/api/v1/tasks/{done['id']}/complete", json={"token": first["lease"]["token"]})
    failed_now = http.post(
        f"/api/v1/tasks/{failed['id']}/fail", params={"next": 0}, json={"token": second["lease"]["token"], "error": "x"}
    )

    assert "next" not in completed.json()
    assert set(completed.json()) == set(failed_now.json())
    assert http.get(f"/api/v1/tasks/{waiting['id']}").json()["state"] == "pending"


def test_fail_with_next_leases_the_next_task(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)
    (leased,) = lease(http, queue)
    waiting = submit(http, queue)

    response = http.post(
        f"/api/v1/tasks/{task['id']}/fail",
        params={"next": 1, "worker_id": "w1", "queues": queue},
        json={"token": leased["lease"]["token"], "error": "busy", "retry_after": 600},
    )

    body = response.json()
    assert (body["state"], body["errors"][0]["error"]) == ("retrying", "busy")
    assert [t["id"] for t in body["next"]] == [waiting["id"]]


def test_a_refused_report_with_next_leases_nothing(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)
    lease(http, queue)
    waiting = submit(http, queue)

    refused = http.post(
        f"/api/v1/tasks/{task['id']}/complete", params={"next": 1, "worker_id": "w1"}, json={"token": "stale"}
    )

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "lease_lost")
    after = http.get(f"/api/v1/tasks/{waiting['id']}").json()
    assert (after["state"], after["attempts"]) == ("pending", 0)


def test_a_batch_reports_each_outcome_alone_and_leases_the_next(http: httpx.Client, queue: str) -> None:
    tasks = [submit(http, queue) for _ in range(3)]
    leased = lease(http, queue, 3)
    tokens = {t["id"]: t["lease"]["token"] for t in leased}
    waiting = [submit(http, queue) for _ in range(2)]
    missing = str(uuid.uuid4())

    response = http.post(
        "/api/v1/outcomes",
        json={
            "outcomes": [
                {"id": tasks[0]["id"], "token": tokens[tasks[0]["id"]], "result": [1]},
                {"id": tasks[1]["id"], "token": "stale", "result": 2},
                {"id": tasks[2]["id"], "token": tokens[tasks[2]["id"]], "error": "no", "retry": False},
                {"id": missing, "token": "t"},
            ],
            "next": 5,
            "worker_id": "w3",
            "queues": [queue],
        },
    )

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0] == {"id": tasks[0]["id"], "state": "completed"}
    assert results[1]["id"] == tasks[1]["id"]
    assert results[1]["error"]["code"] == "lease_lost"
    assert results[2] == {"id": tasks[2]["id"], "state": "failed"}
    assert results[3]["error"]["code"] == "not_found"
    assert sorted(t["id"] for t in response.json()["tasks"]) == sorted(t["id"] for t in waiting)
    assert all("token" in t["lease"] for t in response.json()["tasks"])
    assert http.get(f"/api/v1/tasks/{tasks[1]['id']}").json()["state"] == "running"  # the stale one changed nothing
    assert http.get(f"/api/v1/tasks/{tasks[0]['id']}").json()["result"] == [1]


def test_a_batch_without_next_leases_nothing(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)
    (leased,) = lease(http, queue)
    submit(http, queue)

    response = http.post("/api/v1/outcomes", json={"outcomes": [{"id": task["id"], "token": leased["lease"]["token"]}]})

    assert response.json() == {"results": [{"id": task["id"], "state": "completed"}], "tasks": []}


def test_bad_reports_are_422_and_change_nothing(http: httpx.Client, queue: str) -> None:
    task = submit(http, queue)
    (leased,) = lease(http, queue)
    token = leased["lease"]["token"]
    complete = f"/api/v1/tasks/{task['id']}/complete"
    item = {"id": task["id"], "token": token}

    refused = [
        http.post(complete, params={"next": 1}, json={"token": token}),  # no worker_id
        http.post(complete, params={"worker_id": "w"}, json={"token": token}),  # a worker_id without next
        http.post(complete, params={"next": 101, "worker_id": "w"}, json={"token": token}),
        http.post(f"/api/v1/tasks/{task['id']}/fail", params={"next": -1}, json={"token": token, "error": "e"}),
        http.post("/api/v1/outcomes", json={"outcomes": []}),
        http.post("/api/v1/outcomes", json={"outcomes": [item] * 1001}),
        http.post("/api/v1/outcomes", json={"outcomes": [{**item, "result": 1, "error": "both"}]}),
        http.post("/api/v1/outcomes", json={"outcomes": [item], "next": 1}),  # no worker_id
        http.post("/api/v1/outcomes", json={"outcomes": [item], "types": ["echo"]}),  # types without next
        http.post("/api/v1/outcomes", json={"outcomes": [{**item, "extra": 1}]}),
        http.post("/api/v1/outcomes", json=[item]),
    ]

    assert [r.status_code for r in refused] == [422] * len(refused), [r.text for r in refused]
    assert {r.json()["error"]["code"] for r in refused} == {"validation_error"}
    assert refused[0].json()["error"]["details"] == [{"field": "worker_id", "message": "is required with next"}]
    assert http.get(f"/api/v1/tasks/{task['id']}").json()["state"] == "running"
