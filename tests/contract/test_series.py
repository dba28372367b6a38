"""The per-minute samples and the series read from them (SPEC §3 `GET /api/v1/stats/series`),
on both backends with a frozen clock: the sampler's duty, first-writer-wins, the day kept."""

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.samples import KEPT_MINUTES, MINUTE_S, Totals, minute_of, oldest_kept
from taskline.maintenance.sampler import MinuteSampler
from taskline.maintenance.scheduler import Scheduler
from taskline.service import TaskService
from tests.helpers.seed import lease_one, submit


def with_submitted(n: int) -> Totals:
    totals = Totals()
    totals.counters["submitted"] = n
    return totals


async def test_two_samplers_of_one_minute_keep_the_first_sample(backend: Backend, clock: FrozenClock) -> None:
    clock.advance(10)
    minute = minute_of(clock.now())
    first, second = MinuteSampler(backend, clock), MinuteSampler(backend, clock)

    assert await first.run_once() is True
    await submit(backend, clock)  # the second sampler sees other totals...
    assert await second.run_once() is False

    (kept,) = (await backend.samples(minute, minute)).values()
    assert kept.counters["submitted"] == 0  # ...and the first one's stay


async def test_the_sampler_samples_at_start_then_at_each_minute_boundary(backend: Backend, clock: FrozenClock) -> None:
    clock.advance(25)  # mid-minute
    start = minute_of(clock.now())
    sampler = MinuteSampler(backend, clock)

    assert await sampler.run_once() is True
    clock.advance(30)  # still the same minute
    assert await sampler.run_once() is None
    assert sampler.due_at == (start + 1) * MINUTE_S
    clock.set(sampler.due_at)
    await submit(backend, clock)
    assert await sampler.run_once() is True

    samples = await backend.samples(start, start + 1)
    assert sorted(samples) == [start, start + 1]
    assert samples[start + 1].counters["submitted"] == 1


async def test_the_scheduler_takes_the_samples(backend: Backend, clock: FrozenClock) -> None:
    scheduler = Scheduler(backend, clock)

    assert (await scheduler.run_once()).sampled is True
    assert (await scheduler.run_once()).sampled is None
    clock.advance(MINUTE_S)
    assert (await scheduler.run_once()).sampled is True
    assert len(await backend.samples(minute_of(clock.now()) - 5, minute_of(clock.now()))) == 2


async def test_a_stored_sample_drops_those_older_than_a_day(backend: Backend) -> None:
    now = 30_000_000
    for minute in (oldest_kept(now) - 5, oldest_kept(now) - 1, oldest_kept(now), now - 1):
        assert await backend.record_sample(minute, with_submitted(minute - oldest_kept(now)))

    assert await backend.record_sample(now, with_submitted(99))

    oldest = await backend.samples(oldest_kept(now) - 10, oldest_kept(now) + 10)
    newest = await backend.samples(now - 10, now + 10)
    assert oldest == {oldest_kept(now): with_submitted(0)}
    assert sorted(newest) == [now - 1, now]
    assert newest[now].counters["submitted"] == 99


async def test_samples_are_read_for_the_minutes_asked_only(backend: Backend) -> None:
    for minute in (10, 11, 13, 20):
        await backend.record_sample(minute, with_submitted(minute))

    assert sorted(await backend.samples(11, 13)) == [11, 13]
    assert await backend.samples(14, 19) == {}
    assert await backend.samples(21, 20) == {}
    assert await backend.samples(0, 20 + KEPT_MINUTES) == {}  # looks only as far back as is kept


async def test_the_series_counts_what_happened_in_each_minute(backend: Backend, clock: FrozenClock) -> None:
    service = TaskService(backend, clock=clock)
    sampler = MinuteSampler(backend, clock)
    clock.advance(5)
    start = minute_of(clock.now())
    await sampler.run_once()

    done = await submit(backend, clock, queue="q1")
    dropped = await submit(backend, clock, queue="q2")
    clock.advance(2)
    lease = await lease_one(backend, done)  # waited 2 s
    clock.advance(0.3)
    await backend.complete(done.id, lease.token)  # ran 0.3 s
    await backend.cancel(dropped.id)
    clock.set((start + 1) * MINUTE_S)
    await sampler.run_once()
    await submit(backend, clock, queue="q1")  # the current minute

    before, previous, current = await service.series(3)

    assert before.start == (start - 1) * MINUTE_S
    assert (before.counts, before.durations) == (None, None)  # no sample then: unknown
    assert previous.counts == {"submitted": 2, "completed": 1, "failed": 0, "retried": 0, "cancelled": 1}
    assert previous.durations is not None
    assert previous.durations["run"].count == 1
    assert previous.durations["run"].avg == pytest.approx(0.3, abs=0.002)
    assert previous.durations["run"].p50 is not None
    assert 0.25 <= previous.durations["run"].p50 <= 0.5
    assert previous.durations["wait"].count == 1
    assert previous.durations["wait"].avg == pytest.approx(2.0, abs=0.002)
    assert current.start == (start + 1) * MINUTE_S
    assert current.counts == {"submitted": 1, "completed": 0, "failed": 0, "retried": 0, "cancelled": 0}
    assert current.durations is not None
    assert current.durations["run"].count == 0


async def test_failures_and_retries_are_counted_per_minute(backend: Backend, clock: FrozenClock) -> None:
    service = TaskService(backend, clock=clock)
    await MinuteSampler(backend, clock).run_once()
    flaky = await submit(backend, clock, max_retries=1)
    lease = await lease_one(backend, flaky)
    await backend.fail(flaky.id, lease.token, error="x", retry_after_s=0)  # retried
    await backend.forward_due()
    lease = await lease_one(backend, flaky)
    await backend.fail(flaky.id, lease.token, error="x")  # failed

    (current,) = await service.series(1)

    assert current.counts is not None
    assert (current.counts["retried"], current.counts["failed"]) == (1, 1)
    assert current.durations is not None
    assert current.durations["run"].count == 2
