"""SPEC §4 over HTTP: sizes, backpressure, rate limits, API keys and roles, CORS. A refused
request changes nothing."""

import re
import uuid

import httpx
import pytest

from taskline.api.openapi import openapi_document
from tests.integration.api.conftest import StartServer

TASK = {"type": "echo", "queue": "limits"}


def count_tasks(http: httpx.Client) -> int:
    return int(http.get("/api/v1/stats").json()["total"])


def test_a_body_over_the_limit_is_413_before_it_is_read(start_server: StartServer) -> None:
    with start_server(max_body_bytes="2000", max_payload_bytes="500") as live, live.client() as http:
        declared = http.post("/api/v1/tasks", json={**TASK, "payload": "x" * 5000})
        streamed = http.post(
            "/api/v1/tasks", content=(b"x" * 1000 for _ in range(5)), headers={"content-type": "application/json"}
        )
        payload = http.post("/api/v1/tasks", json={**TASK, "payload": "x" * 800})
        bulk = http.post("/api/v1/tasks/bulk", json=[TASK, {**TASK, "payload": "x" * 800}])

        assert [r.status_code for r in (declared, streamed, payload, bulk)] == [413] * 4
        assert {r.json()["error"]["code"] for r in (declared, streamed, payload, bulk)} == {"payload_too_large"}
        assert count_tasks(http) == 0


def test_a_full_queue_is_503_with_retry_after(start_server: StartServer) -> None:
    with start_server(max_queue_size="2") as live, live.client() as http:
        assert http.post("/api/v1/tasks/bulk", json=[TASK, TASK]).status_code == 201

        refused = http.post("/api/v1/tasks", json=TASK)
        refused_bulk = http.post("/api/v1/tasks/bulk", json=[TASK])

        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "queue_full")
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused_bulk.status_code == 503
        assert count_tasks(http) == 2
        other_queue = http.post("/api/v1/tasks", json={**TASK, "queue": "other"})
        assert other_queue.status_code == 201


def test_a_client_over_its_rate_is_429_with_retry_after(start_server: StartServer) -> None:
    with start_server(rate_limit_rps="0.5", rate_limit_burst="3") as live, live.client() as http:
        statuses = [http.get("/api/v1/stats").status_code for _ in range(4)]
        limited = http.get("/api/v1/stats")
        health = http.get("/health")

    assert statuses[:3] == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert health.status_code == 200  # only /api/v1 and /admin are limited


def test_rate_limits_are_per_key(start_server: StartServer) -> None:
    with start_server(rate_limit_rps="0.5", rate_limit_burst="2", api_keys="k1:admin,k2:admin") as live:
        with live.client("k1") as first:
            assert [first.get("/api/v1/stats").status_code for _ in range(3)] == [200, 200, 429]
        with live.client("k2") as second:
            assert second.get("/api/v1/stats").status_code == 200


PRODUCE = [
    ("POST", "/api/v1/tasks", TASK),
    ("POST", "/api/v1/tasks/bulk", [TASK]),
    ("DELETE", "/api/v1/tasks/{id}", None),
    ("POST", "/api/v1/tasks/{id}/retry", None),
    ("POST", "/api/v1/schedules", {"name": "auth-schedule", "every": 3600, "task": {"type": "auth"}}),
    ("POST", "/api/v1/schedules/auth-schedule/pause", None),
    ("POST", "/api/v1/schedules/auth-schedule/resume", None),
    ("DELETE", "/api/v1/schedules/auth-schedule", None),
]
WORK = [
    ("GET", "/api/v1/poll?worker_id=w&queues=none", None),
    ("POST", "/api/v1/tasks/{id}/heartbeat", {"token": "t"}),
    ("POST", "/api/v1/tasks/{id}/complete", {"token": "t"}),
    ("POST", "/api/v1/tasks/{id}/fail", {"token": "t", "error": "e"}),
    ("POST", "/api/v1/tasks/{id}/complete?next=1&worker_id=w&queues=none", {"token": "t"}),
    ("POST", "/api/v1/outcomes", {"outcomes": [{"id": "none", "token": "t"}], "next": 1, "worker_id": "w"}),
    ("POST", "/api/v1/tasks/{id}/release", {"token": "t"}),
    ("POST", "/api/v1/workers/auth-worker/heartbeat", {}),
    ("DELETE", "/api/v1/workers/gone-worker", None),
]
READ = [
    ("GET", "/api/v1/tasks/{id}", None),
    ("GET", "/api/v1/tasks", None),
    ("GET", "/api/v1/stats", None),
    ("GET", "/api/v1/queues", None),
    ("GET", "/api/v1/whoami", None),
    ("GET", "/api/v1/stats/series", None),
    ("POST", "/api/v1/tasks/short-ids", {"ids": ["01900000-0000-7000-8000-000000000000"]}),
    ("GET", "/api/v1/schedules", None),
    ("GET", "/api/v1/schedules/auth-schedule", None),
]
ADMIN = [
    ("GET", "/admin/workers", None),
    ("GET", "/admin/workers/auth-worker", None),
    ("POST", "/admin/workers/auth-worker/pause", None),
    ("POST", "/admin/workers/auth-worker/resume", None),
    ("GET", "/admin/queues", None),
    ("POST", "/admin/queues/auth/pause", None),
    ("POST", "/admin/queues/auth/resume", None),
    ("DELETE", "/admin/queues/none", None),
    ("POST", "/admin/tasks/{id}/retry", None),
    ("GET", "/admin/dlq", None),
    ("POST", "/admin/dlq/retry", {"ids": ["none"]}),
    ("DELETE", "/admin/dlq", None),
]
ALLOWED = {"admin": PRODUCE + WORK + READ + ADMIN, "producer": PRODUCE + READ, "worker": WORK + READ}


def test_roles_allow_what_the_spec_says_and_nothing_else(start_server: StartServer) -> None:
    keys = {"admin": "ka", "producer": "kp", "worker": "kw"}
    with start_server(api_keys=",".join(f"{key}:{role}" for role, key in keys.items())) as live:
        with live.client("ka") as admin:
            task_id = admin.post("/api/v1/tasks", json={**TASK, "queue": "auth"}).json()["id"]
        for role, key in keys.items():
            with live.client(key) as http:
                for method, path, body in PRODUCE + WORK + READ + ADMIN:
                    response = http.request(method, path.format(id=task_id), json=body)
                    if (method, path, body) in ALLOWED[role]:
                        assert response.status_code not in (401, 403), (role, method, path, response.text)
                    else:
                        assert response.status_code == 403, (role, method, path)
                        assert response.json()["error"]["code"] == "forbidden"


def test_the_role_matrix_covers_every_guarded_route() -> None:
    document = openapi_document()
    guarded = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") != []
    }
    covered = {
        (method, path)
        for method, path in guarded
        for listed_method, listed_path, _ in PRODUCE + WORK + READ + ADMIN
        if listed_method == method and re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", path), listed_path.split("?")[0])
    }

    assert guarded - covered == set()


def test_a_missing_or_unknown_key_is_401(start_server: StartServer) -> None:
    with start_server(api_keys="good:admin") as live, live.client() as anonymous:
        missing = anonymous.get("/api/v1/stats")
        wrong = anonymous.get("/api/v1/stats", headers={"Authorization": "Bearer bad"})
        by_header = anonymous.get("/api/v1/stats", headers={"X-API-Key": "good"})
        open_routes = [anonymous.get(path).status_code for path in ("/health", "/openapi.json", "/docs")]
        bad_and_anonymous = [anonymous.get("/api/v1/poll"), anonymous.post("/api/v1/tasks", json={"typo": 1})]

    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "unauthorized")
    assert wrong.status_code == 401
    assert [r.status_code for r in bad_and_anonymous] == [401, 401]  # who first, then what
    assert by_header.status_code == 200
    assert open_routes == [200, 200, 200]


def test_open_mode_is_announced_at_start(start_server: StartServer) -> None:
    with start_server() as live:
        assert "no API keys are configured" in live.output()


@pytest.mark.parametrize("origin", ["https://app.example.com"])
def test_cors_allows_only_the_configured_origins(start_server: StartServer, origin: str) -> None:
    with start_server(cors_origins=origin) as live, live.client() as http:
        allowed = http.options("/api/v1/tasks", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        other = http.get("/api/v1/stats", headers={"Origin": f"https://evil-{uuid.uuid4().hex[:6]}.example"})

    assert allowed.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in other.headers
