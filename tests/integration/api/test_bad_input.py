"""Bad input, generated: whatever a client sends, the server answers with a 2xx or an error
in SPEC's shape, never a 5xx, and a refused request changes nothing."""

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.live import LiveServer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
FIELDS = ["type", "queue", "payload", "priority", "max_retries", "timeout", "scheduled_at", "delay",
          "unique_key", "unique_ttl", "metadata", "webhook", "state", "id"]  # fmt: skip
task_like = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
bodies = st.one_of(json_values, task_like, st.lists(task_like, max_size=3))
raw_bodies = st.binary(max_size=64)
path_ids = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%"), max_size=40
).filter(bool)
CHECKS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_answered_well(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}
        assert isinstance(body["error"]["code"], str)
        assert isinstance(body["error"]["message"], str)


def snapshot(http: httpx.Client) -> Any:
    return http.get("/api/v1/stats").json()["states"]


@CHECKS
@given(body=bodies)
def test_submit_routes(server: LiveServer, body: Any) -> None:
    with server.client() as http:
        before = snapshot(http)
        for path in ("/api/v1/tasks", "/api/v1/tasks/bulk"):
            response = http.post(path, json=body)
            assert_answered_well(response)
            if response.status_code >= 400:
                assert snapshot(http) == before


@CHECKS
@given(raw=raw_bodies, task_id=path_ids)
def test_raw_bytes_on_every_body_route(server: LiveServer, raw: bytes, task_id: str) -> None:
    with server.client() as http:
        before = snapshot(http)
        for path in ("/api/v1/tasks", "/api/v1/tasks/bulk", *(f"/api/v1/tasks/{task_id}/{a}" for a in
                     ("retry", "heartbeat", "complete", "fail"))):  # fmt: skip
            response = http.post(path, content=raw, headers={"content-type": "application/json"})
            assert_answered_well(response)
        assert snapshot(http) == before


@CHECKS
@given(task_id=path_ids, body=bodies)
def test_task_routes_with_odd_ids_and_bodies(server: LiveServer, task_id: str, body: Any) -> None:
    with server.client() as http:
        before = snapshot(http)
        responses = [
            http.get(f"/api/v1/tasks/{task_id}"),
            http.delete(f"/api/v1/tasks/{task_id}"),
            *(http.post(f"/api/v1/tasks/{task_id}/{a}", json=body) for a in ("retry", "heartbeat", "complete", "fail")),
        ]
        for response in responses:
            assert_answered_well(response)
        assert snapshot(http) == before


QUERY_NAMES = ["worker_id", "types", "queues", "wait", "max", "state", "limit", "cursor", "type", "queue"]


@CHECKS
@given(params=st.dictionaries(st.sampled_from(QUERY_NAMES), st.text(max_size=12), max_size=5))
def test_query_parameters(server: LiveServer, params: dict[str, str]) -> None:
    with server.client() as http:
        assert_answered_well(http.get("/api/v1/tasks", params=params))
        assert_answered_well(http.get("/api/v1/poll", params={**params, "wait": "0"}))
