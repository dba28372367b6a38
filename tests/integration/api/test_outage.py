"""SPEC §4 last bullet and §3 health: a server whose Redis goes away answers 503
`backend_unavailable` with Retry-After (never a hang, never a 500) and recovers by itself;
a Redis that answers with an error we do not know is a 500 `internal_error`, logged."""

import ast
from pathlib import Path

import httpx
import pytest
import redis

import taskline.api
from taskline.backends.redis.keys import DEFAULT_NAMESPACE, KeySpace
from tests.helpers.live import live_server, wait_until
from tests.helpers.servers import RedisServer, running_redis

TASK = {"type": "echo", "queue": "outage", "payload": {"n": 1}}


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "backend_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def healthy(http: httpx.Client) -> bool:
    return http.get("/health").status_code == 200


# With the rate limit on, the limiter is the first to need Redis; with it off, the routes are.
@pytest.mark.parametrize("rate_limit_rps", ["0", "1000"])
def test_a_redis_outage_is_503_and_the_server_recovers(tmp_path: Path, rate_limit_rps: str) -> None:
    store = RedisServer(tmp_path)
    store.start()
    try:
        with (
            live_server(tmp_path, redis_url=store.url, rate_limit_rps=rate_limit_rps) as live,
            live.client(timeout=15) as http,
        ):
            task_id = http.post("/api/v1/tasks", json=TASK).json()["id"]

            store.stop()
            for response in (
                http.post("/api/v1/tasks", json=TASK),
                http.get("/api/v1/poll", params={"worker_id": "w", "wait": 1}),
                http.get(f"/api/v1/tasks/{task_id}"),
                http.get("/admin/queues"),
                http.get("/metrics"),
            ):
                assert_unavailable(response)
            for path in ("/health", "/admin/health"):
                down = http.get(path)
                assert down.status_code == 503
                assert down.json()["status"] == "unhealthy"
                assert down.json()["backend"] == "redis"

            store.start()  # the same port; this Redis kept nothing (no persistence)
            wait_until(lambda: healthy(http), what="/health to answer 200 again")
            submitted = http.post("/api/v1/tasks", json=TASK)
            assert submitted.status_code == 201, submitted.text
            assert http.get(f"/api/v1/tasks/{submitted.json()['id']}").status_code == 200
            leased = http.get("/api/v1/poll", params={"worker_id": "w", "queues": "outage", "wait": 5})
            assert leased.status_code == 200, leased.text
            assert [t["id"] for t in leased.json()["tasks"]] == [submitted.json()["id"]]
            assert "Traceback" not in live.output()
    finally:
        store.kill()


def test_an_unknown_error_reply_is_500_internal_error_with_the_cause_logged(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    url = f"redis://127.0.0.1:{redis_server.port}/15"
    client = redis.Redis.from_url(url)
    client.flushdb()
    # The limiter's bucket for this client as a string: its script's HGET fails with WRONGTYPE,
    # an error reply that means a bug, not an outage.
    client.set(KeySpace(DEFAULT_NAMESPACE).rate_limit("ip:127.0.0.1"), "not a bucket")
    try:
        with live_server(tmp_path, redis_url=url, rate_limit_rps="1000") as live, live.client() as http:
            response = http.get("/api/v1/stats")

            assert response.status_code == 500, response.text
            assert response.json()["error"]["code"] == "internal_error"
            assert "Retry-After" not in response.headers
            assert "WRONGTYPE" not in response.text  # the cause goes to the log, not to the client
            wait_until(lambda: "WRONGTYPE" in live.output(), what="the cause in the server log")
    finally:
        client.flushdb()
        client.close()


def test_serve_warns_when_redis_keeps_nothing_across_a_restart(tmp_path: Path) -> None:
    (tmp_path / "off").mkdir()
    (tmp_path / "on").mkdir()
    with running_redis(tmp_path / "off") as off, live_server(tmp_path, redis_url=off.url) as live:
        assert "Redis persistence is off" in live.output()
    with running_redis(tmp_path / "on", appendonly=True) as on, live_server(tmp_path, redis_url=on.url) as live:
        assert "persistence is off" not in live.output()
        assert "could not tell" not in live.output()


def test_the_api_does_not_import_the_worker() -> None:
    """The composition root (taskline.server) builds the built-in worker; the API only routes.

    Read from the source, not from sys.modules: `import taskline` itself loads `taskline.worker.app`
    for the public `App`, so any import of the API would show the worker package loaded.
    """
    api = Path(taskline.api.__file__).parent
    offenders = [
        f"{path.relative_to(api)}: {name}"
        for path in sorted(api.rglob("*.py"))
        for name in _imported_modules(path)
        if name == "taskline.worker" or name.startswith("taskline.worker.")
    ]
    assert offenders == []


def _imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names
