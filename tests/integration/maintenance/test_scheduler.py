"""The scheduler loop on a real clock: it forwards and recovers on its own, woken by timers."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from taskline.backends.base import Backend
from taskline.backends.factory import open_backend
from taskline.core.clock import FrozenClock, SystemClock
from taskline.core.config import EngineConfig
from taskline.core.states import TaskState
from taskline.maintenance.scheduler import Scheduler
from tests.helpers.seed import spec


@pytest.fixture(params=["sqlite", "redis"])
async def live_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    backend = await open_backend(
        redis_url=redis_url, sqlite_path=tmp_path / "t.db", config=EngineConfig(lease_s=0.3), clock=SystemClock()
    )
    yield backend
    await backend.close()


@pytest.fixture
async def scheduler(live_backend: Backend) -> AsyncIterator[Scheduler]:
    scheduler = Scheduler(live_backend)
    loop = asyncio.create_task(scheduler.run())
    yield scheduler
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop


async def test_a_scheduled_task_is_forwarded_without_being_asked(live_backend: Backend, scheduler: Scheduler) -> None:
    with live_backend.watch(["later"]) as signal:
        clock = FrozenClock(SystemClock().now())
        (submitted,) = await live_backend.submit([spec(clock, queue="later", delay=0.2)])

        assert await signal.wait(10)

    task = await live_backend.get(submitted.task.id)
    assert task is not None
    assert task.state is TaskState.PENDING


async def test_an_abandoned_lease_is_recovered_and_offered_again(live_backend: Backend, scheduler: Scheduler) -> None:
    clock = FrozenClock(SystemClock().now())
    (submitted,) = await live_backend.submit([spec(clock, max_retries=2)])
    assert len(await live_backend.lease(worker_id="dies")) == 1

    with live_backend.watch(None) as signal:
        while True:  # recovered (lease 0.3 s) into retrying, then forwarded after backoff ≤ 1 s
            assert await signal.wait(10)
            task = await live_backend.get(submitted.task.id)
            assert task is not None
            if task.state is TaskState.PENDING:
                break

    assert task.errors[0].error == "lease expired"
    assert task.attempts == 1


async def test_run_once_reports_what_it_moved(tmp_path: Path) -> None:
    clock = FrozenClock()
    backend = await open_backend(redis_url=None, sqlite_path=tmp_path / "t.db", clock=clock)
    try:
        await backend.submit([spec(clock, delay=5), spec(clock, delay=5), spec(clock, type="run")])
        await backend.lease(worker_id="w", types=["run"])
        clock.advance(31)

        report = await Scheduler(backend, clock).run_once()

        assert (report.forwarded, report.recovered, report.trimmed) == (2, 1, 0)
    finally:
        await backend.close()


class _FailsOnce:
    """A backend whose first forward_due raises a non-Taskline error, and whose wait_timers
    returns at once and says how often the loop came round."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.calls = 0
        self.second_round = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    async def forward_due(self, *, limit: int) -> int:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("a bug in one step")
        self.second_round.set()
        return await self._backend.forward_due(limit=limit)

    async def wait_timers(self, max_wait_s: float) -> None:
        await asyncio.sleep(0)


async def test_an_unexpected_error_in_a_step_is_logged_and_the_loop_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FrozenClock()
    backend = await open_backend(redis_url=None, sqlite_path=tmp_path / "t.db", clock=clock)
    failing = _FailsOnce(backend)
    loop = asyncio.create_task(Scheduler(cast(Backend, failing), clock).run())
    try:
        await asyncio.wait_for(failing.second_round.wait(), 10)
        assert not loop.done()
        assert "scheduler step failed" in caplog.text
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
        await backend.close()
