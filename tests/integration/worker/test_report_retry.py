"""A finished attempt whose report finds the engine away is reported again, not thrown away.

Found by the chaos run (tests/chaos): a worker whose server or Redis restarted as it reported
dropped the outcome, so the lease ran out and the attempt counted as failed ("lease expired"):
a task that had succeeded ran again, or went to the DLQ when it had no retries left."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.outcomes import LeaseAsk, Outcome, Settlement
from taskline.core.states import TaskState
from taskline.errors import BackendUnavailable
from taskline.service import TaskService
from taskline.worker.app import App, TaskContext
from taskline.worker.runner import Worker
from tests.helpers.backends import open_test_backend
from tests.integration.worker.conftest import RecordingTransport


@pytest.fixture(params=["sqlite", "redis"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock, engine_config: EngineConfig
) -> AsyncIterator[Backend]:
    async for store in open_test_backend(request, tmp_path, clock, engine_config):
        yield store


@asynccontextmanager
async def asyncio_running(worker: Worker) -> AsyncIterator[Worker]:
    running = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(running, 10)


class Blinking(RecordingTransport):
    """The engine away for the first `away` reports (as while Redis or the API restarts)."""

    def __init__(self, service: TaskService, away: int) -> None:
        super().__init__(service)
        self.away = away

    async def settle(self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None) -> Settlement:
        if self.away > 0:
            self.away -= 1
            raise BackendUnavailable("redis: Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return await super().settle(outcomes, then_lease=then_lease)


async def test_a_completion_that_found_the_engine_away_is_sent_again(service: TaskService) -> None:
    app = App(builtins=False)
    runs: list[int] = []

    @app.task("once")
    async def once(payload: object, ctx: TaskContext) -> int:
        runs.append(ctx.attempt)
        return ctx.attempt

    submitted = await service.submit({"type": "once", "max_retries": 0})
    transport = Blinking(service, away=3)
    worker = Worker(app, transport, poll_wait_s=1.0, shutdown_timeout_s=5.0)
    async with asyncio_running(worker):
        outcome = await transport.next_outcome()

    task = await service.get(submitted.task.id)
    assert (outcome.kind, transport.away) == ("complete", 0)
    assert (task.state, task.result, task.attempts, task.errors) == (TaskState.COMPLETED, 1, 1, [])
    assert runs == [1]  # ran once: the attempt was not thrown away


async def test_a_failure_that_found_the_engine_away_is_sent_again(service: TaskService) -> None:
    app = App(builtins=False)

    @app.task("broken")
    async def broken(payload: object) -> None:
        raise ValueError("disk full")

    submitted = await service.submit({"type": "broken", "max_retries": 0})
    transport = Blinking(service, away=2)
    async with asyncio_running(Worker(app, transport, poll_wait_s=1.0, shutdown_timeout_s=5.0)):
        outcome = await transport.next_outcome()

    task = await service.get(submitted.task.id)
    assert outcome.kind == "fail"
    assert (task.state, task.error, task.attempts) == (TaskState.FAILED, "ValueError: disk full", 1)
