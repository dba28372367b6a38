"""The scheduler loop: moves time-driven work along, then sleeps until the next timer.

Every step is one atomic, idempotent backend call, so any number of servers may run this
loop against one Redis at once: two forwarders racing over one due task move it once.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from taskline.backends.base import Backend
from taskline.backends.wakeup import MAX_TIMER_WAIT_S
from taskline.core.clock import Clock, SystemClock
from taskline.core.workers import FORGET_AFTER_S, SEEN_WITHIN_S
from taskline.errors import TasklineError
from taskline.maintenance.sampler import MinuteSampler
from taskline.maintenance.schedules import RETRY_S, ScheduleFirer

log = logging.getLogger(__name__)

# The longest sleep even when no timer is known: a safety net for notifications lost on
# the way (a Redis pub/sub reconnect), which bounds how late a task can be noticed.
RETENTION_EVERY_S = 60.0
DEPARTURES_EVERY_S = 5.0  # worker.left comes at most this late after SEEN_WITHIN_S
BATCH = 1000
SCHEDULES_RETRY_S = RETRY_S  # a failed firing of a due schedule is tried again this much later
# Retention deletes in batches small enough that nothing waits long behind one: a batch is one
# script on Redis (which serves nobody else meanwhile) or one transaction of the SQLite writer.
# At 1,000 a batch held Redis for ~19 ms and the SQLite writer for ~12 ms, and every submit and
# lease waited that long; at 100 it is ~2 ms (bench/retention.py, docs/benchmarks.md).
TRIM_BATCH = 100
# The most one tick trims: past it the rest waits for the next tick, which comes at once, so a
# million expirations are worked off with forwarding and lease recovery in between, instead of
# one pass of a minute that holds due tasks and expired leases back until it ends. 10,000 a tick
# still left due tasks ~0.4 s late; 1,000 (~0.1 s of trimming) costs a few more calls a tick.
TRIM_PER_TICK = 1000


@dataclass(slots=True)
class TickReport:
    forwarded: int = 0
    recovered: int = 0
    resolved: int = 0
    """Bulks whose submitter left them undone, finished (Backend.resolve_abandoned)."""
    trimmed: int = 0
    workers_forgotten: int = 0
    workers_departed: int = 0
    fired: int = 0
    """Schedules whose due tick this step submitted (maintenance/schedules.py)."""
    sampled: bool | None = None
    """The minute sampler's answer: stored, another process had, or None (not due)."""


class Scheduler:
    def __init__(self, backend: Backend, clock: Clock | None = None) -> None:
        self._backend = backend
        self.clock = clock or SystemClock()
        self._next_retention = 0.0
        self._next_departures = 0.0
        self._next_forgetting = 0.0
        self._sampler = MinuteSampler(backend, self.clock)
        self._schedules = ScheduleFirer(backend, self.clock)
        self._next_schedules = 0.0  # after a failure, not before this (no spinning on a due tick)

    async def run_once(self) -> TickReport:
        """Do all the work due by now: forward, recover, mark workers unseen for a minute as
        left, (once a minute) trim retention and forget workers long gone, and (at each minute
        boundary) sample the task totals for the per-minute series."""
        report = TickReport()
        report.forwarded = await _in_batches(self._backend.forward_due)
        report.recovered = await _in_batches(self._backend.recover_expired)
        report.resolved = await self._resolve_abandoned()
        if self.clock.now() >= self._next_schedules:
            report.fired = await self._fire_schedules()
        if self.clock.now() >= self._next_departures:
            self._next_departures = self.clock.now() + DEPARTURES_EVERY_S
            report.workers_departed = await self._backend.depart_workers(seen_before=self.clock.now() - SEEN_WITHIN_S)
        if self.clock.now() >= self._next_retention:
            self._next_retention = self.clock.now() + RETENTION_EVERY_S
            report.trimmed = await _in_batches(self._backend.trim_retention, TRIM_BATCH, most=TRIM_PER_TICK)
            if report.trimmed >= TRIM_PER_TICK:  # more may be due: go on at the next tick
                self._next_retention = self.clock.now()
        if self.clock.now() >= self._next_forgetting:  # once a minute, even while a trim goes on tick after tick
            self._next_forgetting = self.clock.now() + RETENTION_EVERY_S
            report.workers_forgotten = await self._backend.prune_workers(seen_before=self.clock.now() - FORGET_AFTER_S)
        report.sampled = await self._sampler.run_once()
        return report

    async def _resolve_abandoned(self) -> int:
        """Its own step with its own failure: the bulks' bookkeeping lives on one shard of a
        cluster, and that shard being down must not stop departures, retention and sampling
        (the rest of the tick), which need none of it. Tried again at the next tick."""
        try:
            return await self._backend.resolve_abandoned()
        except TasklineError as exc:
            log.warning("resolving abandoned bulks failed: %s", exc.message)
            return 0

    async def _fire_schedules(self) -> int:
        """Its own step with its own failure, as `_resolve_abandoned`: the schedules live in one
        slot of a cluster (and a tick's queue in another), and either being down must not stop
        the rest of the tick. Tried again at the next tick."""
        try:
            return await self._schedules.run_once()
        except TasklineError as exc:
            log.warning("firing schedules failed: %s", exc.message)
        except Exception:  # a stored schedule this process cannot read must not end the tick either
            log.exception("firing schedules failed")
        self._next_schedules = self.clock.now() + SCHEDULES_RETRY_S
        return 0

    async def _next_schedule_at(self) -> float | None:
        """The next schedule's tick; None when the schedules' store does not answer (a cluster
        shard down), which must not put off the rest of the loop's work as a failed step would."""
        try:
            return await self._backend.next_schedule_at()
        except TasklineError:
            self._next_schedules = self.clock.now() + SCHEDULES_RETRY_S
            return self._next_schedules

    def _schedules_wake(self, next_schedule: float) -> float:
        """When to look at the schedules again. A next run already past after the step is one
        put aside after a failure (ScheduleFirer.retry_at), or one past the batch: the first
        waits for its retry, lest the loop spin on it; the second is fired at once."""
        wake = max(next_schedule, self._next_schedules)
        retry_at = self._schedules.retry_at
        if wake <= self.clock.now() and retry_at is not None:
            wake = retry_at
        return wake

    async def run(self) -> None:
        """Loop until cancelled; a failing step is logged and retried, never fatal.

        Cancelling is safe at any await: each backend step is atomic on its own.
        """
        while True:
            try:
                report = await self.run_once()
                if report.recovered:
                    log.info("recovered %d expired leases", report.recovered)
                next_timer = await self._backend.next_timer()
                # The next minute boundary too, so each sample is taken as its minute starts.
                wake_at = self._sampler.due_at if next_timer is None else min(next_timer, self._sampler.due_at)
                wake_at = min(wake_at, self._next_retention)  # at once while retention has more to trim
                # The next schedule's tick, so "every 1 s" fires on time (a new or resumed one
                # that comes earlier wakes wait_timers).
                if (next_schedule := await self._next_schedule_at()) is not None:
                    wake_at = min(wake_at, self._schedules_wake(next_schedule))
            except TasklineError as exc:
                log.warning("scheduler step failed: %s", exc.message)
                wake_at = self.clock.now() + MAX_TIMER_WAIT_S  # a failing store is not asked again at once
            except Exception:
                # The last guard: a bug or a bad stored record must not end the loop, which also
                # forwards due tasks and recovers leases for every queue of this server.
                log.exception("scheduler step failed")
                wake_at = self.clock.now() + MAX_TIMER_WAIT_S
            await self._backend.wait_timers(min(max(wake_at - self.clock.now(), 0.0), MAX_TIMER_WAIT_S))


async def _in_batches(step: Callable[..., Awaitable[int]], batch: int = BATCH, *, most: int | None = None) -> int:
    """Run `step(limit=batch)` until a batch comes back short, or `most` have moved; how many it
    moved in all."""
    total = 0
    while (moved := await step(limit=batch)) > 0:
        total += moved
        if moved < batch or (most is not None and total >= most):
            break
    return total
