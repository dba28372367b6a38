"""History over HTTP, in process on both live backends with a frozen clock: the fallback read
once retention removed a task, `?source=history` listings, `source` validation, /metrics."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from taskline.api.app import create_app
from taskline.backends.base import Backend
from taskline.config import Settings
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from tests.helpers.seed import in_state

S = TaskState


@asynccontextmanager
async def serving(
    backend: Backend, clock: FrozenClock, **settings: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(Settings(rate_limit_rps=0, **settings), backend=backend, clock=clock)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        yield app, client


async def archive_all(app: FastAPI) -> None:
    """What the server's archiver does in the background, done now (passes are idempotent)."""
    while await app.state.server.archiver.archive_once():
        pass


def metric(text: str, name: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


async def listed(http: httpx.AsyncClient, **params: Any) -> list[str]:
    """Every id a history listing gives, following next_cursor with small pages."""
    ids: list[str] = []
    cursor = None
    while True:
        query = {**params, "source": "history", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = (await http.get("/api/v1/tasks", params=query)).json()
        ids += [t["id"] for t in body["tasks"]]
        if (cursor := body["next_cursor"]) is None:
            return ids


async def test_a_task_retention_removed_is_read_from_history(
    archiving_backend: Backend, clock: FrozenClock, postgres_url: str
) -> None:
    async with serving(archiving_backend, clock, postgres_url=postgres_url) as (app, http):
        task = await in_state(archiving_backend, clock, S.COMPLETED)
        live = await http.get(f"/api/v1/tasks/{task.id}")
        await archive_all(app)
        clock.advance(8 * 86400)
        assert await archiving_backend.trim_retention() == 1

        archived = await http.get(f"/api/v1/tasks/{task.id}")
        missing = await http.get("/api/v1/tasks/01890000-0000-7000-8000-000000000000")

    assert live.headers["x-taskline-source"] == "live"
    assert archived.status_code == 200
    assert archived.headers["x-taskline-source"] == "history"
    assert archived.json() == live.json()
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_history_lists_with_the_live_filters_and_cursor(
    archiving_backend: Backend, clock: FrozenClock, postgres_url: str
) -> None:
    async with serving(archiving_backend, clock, postgres_url=postgres_url) as (app, http):
        ended = []
        for i in range(7):
            state = (S.COMPLETED, S.FAILED, S.CANCELLED)[i % 3]
            ended.append(await in_state(archiving_backend, clock, state, queue=f"q{i % 2}", type=f"t{i % 3}"))
            clock.advance(0.002)
        await in_state(archiving_backend, clock, S.PENDING)  # live only
        await archive_all(app)

        everything = await listed(http)
        failed = await listed(http, state="failed")
        in_q1 = await listed(http, queue="q1")
        of_t0_in_q0 = await listed(http, type="t0", queue="q0")
        live = (await http.get("/api/v1/tasks", params={"limit": 500})).json()
        bad_cursor = await http.get("/api/v1/tasks", params={"source": "history", "cursor": "nope"})
        bad_source = await http.get("/api/v1/tasks", params={"source": "archive"})
        metrics = (await http.get("/metrics")).text

    newest_first = [t.id for t in reversed(ended)]
    assert everything == newest_first
    assert failed == [t.id for t in reversed(ended) if t.state is S.FAILED]
    assert in_q1 == [t.id for t in reversed(ended) if t.queue == "q1"]
    assert of_t0_in_q0 == [t.id for t in reversed(ended) if (t.type, t.queue) == ("t0", "q0")]
    assert len(live["tasks"]) == 8  # the default source is still the live backend
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["error"]["details"] == [{"field": "cursor", "message": "is not valid"}]
    assert bad_source.status_code == 422
    assert bad_source.json()["error"]["code"] == "validation_error"
    # The background pass may have copied some of them too (harmless: the upsert is idempotent).
    assert metric(metrics, "taskline_history_archived_total") >= 7
    assert "taskline_history_outbox_depth 0.0" in metrics
    assert "taskline_history_outbox_lag_seconds 0.0" in metrics


async def test_history_asked_of_a_server_without_it_is_a_clear_422(backend: Backend, clock: FrozenClock) -> None:
    async with serving(backend, clock) as (app, http):
        response = await http.get("/api/v1/tasks", params={"source": "history"})
        metrics = (await http.get("/metrics")).text

    assert app.state.server.archiver is None
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "TASKLINE_POSTGRES_URL" in error["message"]
    assert error["details"][0]["field"] == "source"
    # The outbox is exported all the same: ends piling up with no server archiving them must show.
    assert "taskline_history_outbox_depth 0.0" in metrics
    assert "taskline_history_archived_total 0.0" in metrics


async def test_a_server_that_does_not_archive_says_so_when_ends_wait(
    archiving_backend: Backend, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    await in_state(archiving_backend, clock, S.COMPLETED)  # an end in the outbox, nobody to copy it
    with caplog.at_level(logging.WARNING, logger="taskline"):
        async with serving(archiving_backend, clock) as (app, http):
            metrics = (await http.get("/metrics")).text

    assert app.state.server.archiver is None
    assert "1 task ends wait in the PostgreSQL history outbox" in caplog.text
    assert metric(metrics, "taskline_history_outbox_depth") == 1
