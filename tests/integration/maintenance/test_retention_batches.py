"""Retention in bounded batches: a backlog of expired tasks is trimmed a small batch per call and
a bounded number per tick, with the scheduler's other duties done in between (SPEC §8 retention;
docs/benchmarks.md "Retention at scale" measures what a batch costs)."""

from collections.abc import Awaitable, Callable

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from taskline.maintenance import scheduler as scheduling
from taskline.maintenance.scheduler import Scheduler
from tests.helpers.seed import spec

EXPIRED = 25


class CountingTrim:
    """The backend's own trim_retention, with each call's limit and answer kept."""

    def __init__(self, trim: Callable[..., Awaitable[int]]) -> None:
        self.trim = trim
        self.calls: list[tuple[int, int]] = []

    async def __call__(self, *, limit: int) -> int:
        trimmed = await self.trim(limit=limit)
        self.calls.append((limit, trimmed))
        return trimmed


async def completed_tasks(backend: Backend, clock: FrozenClock, count: int) -> None:
    await backend.submit([spec(clock, type="old") for _ in range(count)])
    leases = await backend.lease(worker_id="w", types=["old"], max=count)
    assert len(leases) == count
    for lease in leases:
        await backend.complete(lease.task.id, lease.token)


async def test_a_backlog_is_trimmed_in_small_batches_over_ticks_that_still_forward(
    backend: Backend, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real sizes (100 a batch, 1,000 a tick) scaled down, so the test stays small.
    monkeypatch.setattr(scheduling, "TRIM_BATCH", 4)
    monkeypatch.setattr(scheduling, "TRIM_PER_TICK", 10)
    await completed_tasks(backend, clock, EXPIRED)
    clock.advance(604801)  # past the default 7 days' retention
    trim = CountingTrim(backend.trim_retention)
    backend.trim_retention = trim  # type: ignore[method-assign, assignment]
    scheduler = Scheduler(backend, clock)

    reports = []
    for _ in range(3):
        await backend.submit([spec(clock, type="due", delay=1)])
        clock.advance(2)
        reports.append(await scheduler.run_once())

    assert [r.trimmed for r in reports] == [12, 12, 1]  # a tick stops at the first batch past 10
    assert [r.forwarded for r in reports] == [1, 1, 1]  # each tick forwarded what fell due meanwhile
    assert {limit for limit, _ in trim.calls} == {4}
    assert sum(trimmed for _, trimmed in trim.calls) == EXPIRED
    assert (await backend.counts())[TaskState.COMPLETED] == 0
    # Done: retention rests for its minute again.
    assert (await scheduler.run_once()).trimmed == 0
    assert len(trim.calls) == 7  # 3 + 3 + 1: the fourth tick did not ask
