"""The task figures of /metrics, counted by the transitions themselves (SPEC §3)."""

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.measures import bucket_of
from tests.helpers.seed import lease_one, submit


async def test_counters_and_histograms_follow_what_happened(backend: Backend, clock: FrozenClock) -> None:
    done = await submit(backend, clock, type="a", queue="q1")
    lease = await lease_one(backend, done)  # waited 0 s
    clock.advance(0.3)
    await backend.complete(done.id, lease.token)  # ran 0.3 s

    flaky = await submit(backend, clock, type="b", queue="q1", max_retries=1)
    clock.advance(2)
    lease = await lease_one(backend, flaky)  # waited 2 s
    await backend.fail(flaky.id, lease.token, error="x", retry_after_s=0)  # ran 0 s: retried
    await backend.forward_due()
    lease = await lease_one(backend, flaky)
    await backend.fail(flaky.id, lease.token, error="x")  # failed
    cancelled = await submit(backend, clock, type="a", queue="q2")
    await backend.cancel(cancelled.id)

    metrics = await backend.task_metrics()

    assert metrics.counters == {
        ("submitted", "q1", "a"): 1,
        ("completed", "q1", "a"): 1,
        ("submitted", "q1", "b"): 1,
        ("retried", "q1", "b"): 1,
        ("failed", "q1", "b"): 1,
        ("submitted", "q2", "a"): 1,
        ("cancelled", "q2", "a"): 1,
    }
    run_a = metrics.histograms[("run", "q1", "a")]
    assert run_a.sum_s == pytest.approx(0.3, abs=0.002)
    assert run_a.counts[bucket_of(0.3)] == 1
    assert sum(run_a.counts) == 1
    assert sum(metrics.histograms[("run", "q1", "b")].counts) == 2
    wait_b = metrics.histograms[("wait", "q1", "b")]
    assert sum(wait_b.counts) == 2
    assert wait_b.counts[bucket_of(2.0)] == 1
    assert wait_b.sum_s == pytest.approx(2.0, abs=0.002)
    assert ("run", "q2", "a") not in metrics.histograms  # cancelled before it ran


async def test_expired_leases_releases_and_hand_retries_count_alike(backend: Backend, clock: FrozenClock) -> None:
    expired = await submit(backend, clock, type="e", queue="q3", max_retries=0)
    await lease_one(backend, expired)
    clock.advance(31)  # past the lease: a failed attempt that ran 31 s
    assert await backend.recover_expired() == 1
    released = await submit(backend, clock, type="r", queue="q3")
    lease = await lease_one(backend, released)
    await backend.cancel(released.id)  # running: cancel requested
    await backend.release(released.id, lease.token)  # handed back: ends cancelled, no run observed
    await backend.retry(expired.id)  # by hand: not a "retried" attempt
    await backend.dlq_retry()

    metrics = await backend.task_metrics()

    counted = {key: n for key, n in metrics.counters.items() if key[1] == "q3"}
    assert counted == {
        ("submitted", "q3", "e"): 1,
        ("failed", "q3", "e"): 1,
        ("submitted", "q3", "r"): 1,
        ("cancelled", "q3", "r"): 1,
    }
    run_e = metrics.histograms[("run", "q3", "e")]
    assert sum(run_e.counts) == 1
    assert run_e.sum_s == pytest.approx(31.0, abs=0.002)
    assert ("run", "q3", "r") not in metrics.histograms
