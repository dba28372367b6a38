"""Abbreviated task ids over HTTP, on both backends: `POST /api/v1/tasks/short-ids` gives each id
its shortest prefix no other stored id has, and the routes that take a task id from a person
(`GET`/`DELETE /api/v1/tasks/{id}`, both retries) take that prefix in its place."""

import httpx
import pytest

from taskline.core.ids import MIN_PREFIX_DIGITS


def _shared_start(ids: list[str]) -> str:
    """The longest start every id has: that of the first and last in order."""
    first, last = min(ids), max(ids)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


def _submit(http: httpx.Client, queue: str, n: int) -> list[str]:
    response = http.post("/api/v1/tasks/bulk", json=[{"type": "echo", "queue": queue}] * n)
    assert response.status_code == 201, response.text
    return [t["id"] for t in response.json()["tasks"]]


def _short(http: httpx.Client, ids: list[str]) -> dict[str, str]:
    response = http.post("/api/v1/tasks/short-ids", json={"ids": ids})
    assert response.status_code == 200, response.text
    return response.json()["short_ids"]


def test_each_abbreviation_is_the_shortest_that_names_its_task_alone(http: httpx.Client, queue: str) -> None:
    ids = _submit(http, queue, 30) + _submit(http, queue + "-b", 1)
    # Abbreviated a few at a time: uniqueness comes from the store, not from the ids asked about.
    short = _short(http, ids[:1]) | _short(http, ids[1:5]) | _short(http, ids[5:])

    assert sorted(short) == sorted(ids)
    for task_id, prefix in short.items():
        assert task_id.startswith(prefix)
        assert len(prefix.replace("-", "")) >= MIN_PREFIX_DIGITS
        assert http.get(f"/api/v1/tasks/{prefix}").json()["id"] == task_id
        shorter = prefix[:-1].rstrip("-")
        if len(shorter.replace("-", "")) >= MIN_PREFIX_DIGITS:
            assert http.get(f"/api/v1/tasks/{shorter}").json()["error"]["code"] == "ambiguous_id"


def test_a_prefix_of_several_ids_is_refused_naming_how_many_and_changes_nothing(http: httpx.Client, queue: str) -> None:
    ids = sorted(_submit(http, queue, 3))
    prefix = _shared_start(ids)
    assert len(prefix) >= 8, "a bulk of 3 is submitted within one minute"
    before = [http.get(f"/api/v1/tasks/{i}").json() for i in ids]

    answers = [
        http.get(f"/api/v1/tasks/{prefix}"),
        http.delete(f"/api/v1/tasks/{prefix}"),
        http.post(f"/api/v1/tasks/{prefix}/retry"),
        http.post(f"/admin/tasks/{prefix}/retry"),
    ]

    for answer in answers:
        assert answer.status_code == 409
        error = answer.json()["error"]
        assert error["code"] == "ambiguous_id"
        count, candidates = error["details"]["count"], error["details"]["candidates"]
        assert count >= 3
        assert f"{count} task ids start with {prefix}" in error["message"]
        assert all(c.startswith(prefix) for c in candidates)
        assert len(candidates) == min(count, 10)
    assert [http.get(f"/api/v1/tasks/{i}").json() for i in ids] == before


def test_cancel_and_retry_take_an_abbreviation(http: httpx.Client, queue: str) -> None:
    (task_id,) = _submit(http, queue, 1)
    prefix = _short(http, [task_id])[task_id]

    cancelled = http.delete(f"/api/v1/tasks/{prefix.replace('-', '').upper()}")
    retried = http.post(f"/api/v1/tasks/{prefix}/retry", json={"payload": [1]})

    assert (cancelled.status_code, cancelled.json()["id"], cancelled.json()["state"]) == (200, task_id, "cancelled")
    assert (retried.status_code, retried.json()["id"], retried.json()["payload"]) == (200, task_id, [1])


@pytest.mark.parametrize("text", ["0000000000", "00000000-0000", "0193a4b", "not-an-id"])
def test_an_id_no_task_starts_with_is_404(http: httpx.Client, text: str) -> None:
    for answer in (http.get(f"/api/v1/tasks/{text}"), http.delete(f"/api/v1/tasks/{text}")):
        assert answer.status_code == 404
        assert text in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "body", [{}, {"ids": []}, {"ids": ["x"]}, {"ids": [1]}, {"ids": "0193a4b2"}, {"ids": ["0" * 36] * 501}, []]
)
def test_short_ids_refuses_what_is_not_a_list_of_ids(http: httpx.Client, body: object) -> None:
    answer = http.post("/api/v1/tasks/short-ids", json=body)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "validation_error"
