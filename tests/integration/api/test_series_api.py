"""`GET /api/v1/stats/series` over HTTP, in process on both backends with a frozen clock (the
app's server, its sampler included, runs on the test's backend and clock)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from taskline.api.app import create_app
from taskline.backends.base import Backend
from taskline.config import Settings
from taskline.core.clock import FrozenClock
from taskline.core.samples import MINUTE_S, minute_of
from taskline.maintenance.sampler import MinuteSampler
from taskline.wire import rfc3339

KEYS = "ka:admin,kp:producer,kw:worker"
NULL_MINUTE = {"completed": None, "failed": None, "retried": None, "submitted": None, "cancelled": None}


@asynccontextmanager
async def serving(backend: Backend, clock: FrozenClock, **settings: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(**settings), backend=backend, clock=clock)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        yield client


async def test_the_current_minute_counts_what_the_api_was_asked(backend: Backend, clock: FrozenClock) -> None:
    clock.advance(10)
    now_minute = minute_of(clock.now())
    async with serving(backend, clock) as http:
        # The server samples at start too; whichever sample came first stands, and either
        # way the minute's sample is taken before the submits below.
        await MinuteSampler(backend, clock).run_once()
        submitted = [(await http.post("/api/v1/tasks", json={"type": "s", "queue": "series"})).json() for _ in "ab"]
        await http.delete(f"/api/v1/tasks/{submitted[0]['id']}")

        response = await http.get("/api/v1/stats/series", params={"minutes": 3})
        default = await http.get("/api/v1/stats/series")

    body = response.json()
    assert response.status_code == 200
    assert body["interval_s"] == MINUTE_S
    assert [m["start"] for m in body["minutes"]] == [rfc3339((now_minute + i) * MINUTE_S) for i in (-2, -1, 0)]
    assert body["minutes"][0] == {"start": body["minutes"][0]["start"], **NULL_MINUTE, "wait_s": None, "run_s": None}
    current = body["minutes"][-1]
    assert (current["submitted"], current["cancelled"], current["completed"], current["failed"]) == (2, 1, 0, 0)
    assert current["wait_s"] == {"count": 0, "avg": None, "p50": None, "p95": None}
    assert len(default.json()["minutes"]) == 60


@pytest.mark.parametrize("query", [{"minutes": "0"}, {"minutes": "1441"}, {"minutes": "abc"}, {"minutes": ""}])
async def test_minutes_out_of_range_or_not_a_number_is_422(
    backend: Backend, clock: FrozenClock, query: dict[str, str]
) -> None:
    async with serving(backend, clock) as http:
        response = await http.get("/api/v1/stats/series", params=query)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == ["minutes"]


async def test_a_queue_filter_is_refused_not_ignored(backend: Backend, clock: FrozenClock) -> None:
    async with serving(backend, clock) as http:
        response = await http.get("/api/v1/stats/series", params={"minutes": "5", "queue": "emails"})
        a_day = await http.get("/api/v1/stats/series", params={"minutes": "1440"})

    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["queue"]
    assert len(a_day.json()["minutes"]) == 1440


async def test_every_role_may_read_it_and_no_key_may_not(backend: Backend, clock: FrozenClock) -> None:
    async with serving(backend, clock, api_keys=KEYS) as http:
        by_role = [
            (await http.get("/api/v1/stats/series", headers={"Authorization": f"Bearer {key}"})).status_code
            for key in ("ka", "kp", "kw")
        ]
        anonymous = await http.get("/api/v1/stats/series")
        anonymous_and_bad = await http.get("/api/v1/stats/series", params={"minutes": "0"})

    assert by_role == [200, 200, 200]
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthorized")
    assert anonymous_and_bad.status_code == 401  # who first, then what
