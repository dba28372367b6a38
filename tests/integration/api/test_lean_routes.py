"""The lean routes (api/lean.py) answer every request exactly as FastAPI would, and valid
requests to them do not go through FastAPI's route machinery.

Two apps over one store, in process: the app as built, and the same app without `LeanRoutes`
(FastAPI serving every route). Each request is sent to both and the answers compared."""

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from taskline.api.app import create_app
from taskline.api.lean import LeanRoutes
from taskline.config import Settings
from tests.helpers.servers import RedisServer

KEYS = "kp:producer,kw:worker"
PRODUCER = {"Authorization": "Bearer kp"}
WORKER = {"Authorization": "Bearer kw"}
TASK = {"type": "lean", "queue": "lean"}
JSON = {"content-type": "application/json"}


@pytest.fixture(params=["sqlite", "redis"])
def settings_for(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Settings]:
    redis_url = None
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        redis_url = f"redis://127.0.0.1:{server.port}/15"
        import redis

        with redis.Redis.from_url(redis_url) as client:
            client.flushdb()

    def settings(**values: Any) -> Settings:
        return Settings(sqlite_path=tmp_path / "lean.db", redis_url=redis_url, api_keys=KEYS, **values)

    return settings


def without_lean_routes(app: FastAPI) -> FastAPI:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not LeanRoutes]
    return app


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lean") as client:
            yield client


class FallbackCounter:
    """Wraps what `LeanRoutes` hands requests on to, counting them by path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def count_fallbacks(app: FastAPI) -> FallbackCounter:
    """Install a counter behind the app's LeanRoutes (the middleware stack must be built)."""
    layer: Any = app.middleware_stack
    while not isinstance(layer, LeanRoutes):
        layer = layer.app
    counter = FallbackCounter(layer.app)
    layer.app = counter
    return counter


def answer(response: httpx.Response) -> tuple[int, Any, str | None]:
    body = response.json() if response.content else None
    return response.status_code, body, response.headers.get("retry-after")


async def running_task(client: httpx.AsyncClient) -> dict[str, Any]:
    assert (await client.post("/api/v1/tasks", json=TASK, headers=PRODUCER)).status_code == 201
    polled = await client.get("/api/v1/poll", params={"worker_id": "w", "queues": "lean"}, headers=WORKER)
    assert polled.status_code == 200
    task: dict[str, Any] = polled.json()["tasks"][0]
    return task


def refused_requests(task_id: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Requests to lean routes that change nothing, each as (method, path, httpx arguments)."""
    beat = f"/api/v1/tasks/{task_id}/heartbeat"
    for path in ("/api/v1/tasks", "/api/v1/tasks/bulk"):
        yield "POST", path, {"json": [TASK] if path.endswith("bulk") else TASK}  # no key
        yield "POST", path, {"json": TASK, "headers": WORKER}  # the wrong role
        yield "POST", path, {"content": b"{", "headers": {**PRODUCER, **JSON}}
        yield "POST", path, {"json": {"type": "no spaces allowed"}, "headers": PRODUCER}
        yield "POST", path, {"json": [{"type": "x"}, {"kind": 1}], "headers": PRODUCER}
    yield "GET", "/api/v1/poll", {}
    yield "GET", "/api/v1/poll", {"headers": PRODUCER, "params": {"worker_id": "w"}}
    yield "GET", "/api/v1/poll", {"headers": WORKER}
    yield "GET", "/api/v1/poll", {"headers": WORKER, "params": {"worker_id": "", "max": "0", "wait": "x"}}
    yield "GET", "/api/v1/poll", {"headers": WORKER, "params": {"worker_id": "w", "queues": "a b"}}
    yield "POST", beat, {"json": {"token": "t"}}
    yield "POST", beat, {"json": {"token": "t"}, "headers": PRODUCER}
    yield "POST", beat, {"json": {"token": "not-the-token"}, "headers": WORKER}
    yield "POST", "/api/v1/tasks/no-such-task/heartbeat", {"json": {"token": "t"}, "headers": WORKER}
    yield "POST", beat, {"json": {"token": "t", "progress": 101}, "headers": WORKER}
    yield "POST", beat, {"json": {"token": "t", "extra": 1}, "headers": WORKER}
    yield "POST", beat, {"content": b"", "headers": {**WORKER, **JSON}}
    yield "POST", beat, {"content": b'{"token": ', "headers": {**WORKER, **JSON}}
    yield "POST", beat, {"content": b'{"token": "t"}', "headers": WORKER}  # no content type
    yield "POST", beat, {"content": b'{"token": "t"}', "headers": {**WORKER, "content-type": "text/plain"}}
    yield "POST", beat, {"content": b'["token"]', "headers": {**WORKER, **JSON}}
    for outcome in ("complete", "fail"):
        report = f"/api/v1/tasks/{task_id}/{outcome}"
        body = {"token": "t"} if outcome == "complete" else {"token": "t", "error": "boom"}
        yield "POST", report, {"json": body}
        yield "POST", report, {"json": body, "headers": PRODUCER}
        yield "POST", report, {"json": {**body, "token": "not-the-token"}, "headers": WORKER}
        yield "POST", report, {"json": {"result": 1}, "headers": WORKER}
        yield "POST", report, {"json": body, "headers": WORKER, "params": {"next": "2"}}  # next without worker_id
        yield "POST", report, {"json": body, "headers": WORKER, "params": {"next": "-1", "worker_id": "w"}}
        yield "POST", report, {"content": b"{", "headers": {**WORKER, **JSON}}
    outcomes = "/api/v1/outcomes"
    yield "POST", outcomes, {"json": {"outcomes": [{"id": task_id, "token": "t"}]}}
    yield "POST", outcomes, {"json": {"outcomes": []}, "headers": WORKER}
    yield "POST", outcomes, {"json": {"outcomes": [{"id": task_id}], "next": 1}, "headers": WORKER}
    yield "POST", outcomes, {"json": {"outcomes": [{"id": task_id, "token": "t"}], "next": 1}, "headers": WORKER}


async def test_lean_routes_answer_refused_requests_exactly_as_fastapi(
    settings_for: Callable[..., Settings],
) -> None:
    settings = settings_for()
    async with AsyncExitStack() as stack:
        lean = await stack.enter_async_context(serving(create_app(settings)))
        plain = await stack.enter_async_context(serving(without_lean_routes(create_app(settings))))
        task = await running_task(lean)
        stats = (await lean.get("/api/v1/stats", headers=PRODUCER)).json()

        for method, path, arguments in refused_requests(task["id"]):
            expected = answer(await plain.request(method, path, **arguments))
            assert answer(await lean.request(method, path, **arguments)) == expected, (method, path, arguments)
            assert expected[0] >= 400, (method, path, expected)

        assert (await lean.get("/api/v1/stats", headers=PRODUCER)).json() == stats


async def test_valid_requests_take_the_lean_path_and_are_counted_by_route(
    settings_for: Callable[..., Settings],
) -> None:
    app = create_app(settings_for())
    async with serving(app) as client:
        await client.get("/health")  # builds the middleware stack
        fallbacks = count_fallbacks(app)

        single = await client.post("/api/v1/tasks", json=TASK, headers=PRODUCER)
        bulk = await client.post("/api/v1/tasks/bulk", json=[TASK] * 3, headers=PRODUCER)
        polled = await client.get("/api/v1/poll", params={"worker_id": "w", "max": "3"}, headers=WORKER)
        leases = polled.json()["tasks"]
        beat = await client.post(
            f"/api/v1/tasks/{leases[0]['id']}/heartbeat",
            json={"token": leases[0]["lease"]["token"], "progress": 50},
            headers=WORKER,
        )
        first, second, third = ({"id": lease["id"], "token": lease["lease"]["token"]} for lease in leases)
        completed = await client.post(
            f"/api/v1/tasks/{second['id']}/complete",
            json={"token": second["token"], "result": 7},
            params={"next": "1", "worker_id": "w"},
            headers=WORKER,
        )
        failed = await client.post(
            f"/api/v1/tasks/{third['id']}/fail", json={"token": third["token"], "error": "boom"}, headers=WORKER
        )
        reported = await client.post("/api/v1/outcomes", json={"outcomes": [first]}, headers=WORKER)
        assert fallbacks.paths == []
        refused = await client.post(f"/api/v1/tasks/{first['id']}/heartbeat", json={}, headers=WORKER)
        assert fallbacks.paths == [f"/api/v1/tasks/{first['id']}/heartbeat"]
        got = await client.get(f"/api/v1/tasks/{leases[0]['id']}", headers=WORKER)

    assert (single.status_code, bulk.status_code, polled.status_code) == (201, 201, 200)
    assert len(leases) == 3
    assert beat.status_code == 200
    assert set(beat.json()) == {"expires_at", "cancel_requested"}
    assert refused.status_code == 422
    assert got.json()["progress"] == 50
    assert (completed.status_code, completed.json()["result"], len(completed.json()["next"])) == (200, 7, 1)
    assert failed.status_code == 200
    assert reported.json()["results"] == [{"id": first["id"], "state": "completed"}]
    assert single.json()["state"] == "pending"
    requests = app.state.http_meter.requests
    for route, method, status in [
        ("/api/v1/tasks", "POST", 201),
        ("/api/v1/tasks/bulk", "POST", 201),
        ("/api/v1/poll", "GET", 200),
        ("/api/v1/tasks/{task_id}/heartbeat", "POST", 200),
        ("/api/v1/tasks/{task_id}/heartbeat", "POST", 422),
        ("/api/v1/tasks/{task_id}/complete", "POST", 200),
        ("/api/v1/tasks/{task_id}/fail", "POST", 200),
        ("/api/v1/outcomes", "POST", 200),
    ]:
        assert requests.get((route, method, status)) == 1, (route, method, status, requests)


async def chunks() -> AsyncIterator[bytes]:
    """A body of 300 bytes without a Content-Length: the limit finds it too big as it streams in."""
    for _ in range(3):
        yield b"x" * 100


async def test_the_limits_stand_in_front_of_the_lean_routes(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(max_body_bytes=200, rate_limit_rps=0.001, rate_limit_burst=4)
    async with AsyncExitStack() as stack:
        lean = await stack.enter_async_context(serving(create_app(settings)))
        plain = await stack.enter_async_context(serving(without_lean_routes(create_app(settings))))
        too_big: dict[str, list[tuple[int, Any, str | None]]] = {}
        for name, client in (("lean", lean), ("plain", plain)):
            declared = await client.post("/api/v1/tasks/x/heartbeat", json={"token": "t" * 300}, headers=WORKER)
            streamed = await client.post("/api/v1/tasks/x/heartbeat", content=chunks(), headers={**WORKER, **JSON})
            too_big[name] = [answer(declared), answer(streamed)]
        # The key's bucket lives in the store: four requests pass, the fifth is refused.
        submits = [await lean.post("/api/v1/tasks", json=TASK, headers=PRODUCER) for _ in range(5)]

    assert too_big["lean"] == too_big["plain"]
    assert too_big["lean"][0][0] == 413
    assert too_big["lean"][0][1]["error"]["code"] == "payload_too_large"
    assert [r.status_code for r in submits] == [201, 201, 201, 201, 429]
    _, body, retry_after = answer(submits[-1])
    assert body["error"]["code"] == "rate_limited"
    assert int(retry_after or 0) >= 1
