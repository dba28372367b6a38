"""The scheduler loop: moves time-driven work along, then sleeps until the next timer.

Every step is one atomic, idempotent backend call, so any number of servers may run this
loop against one Redis at once: two forwarders racing over one due task move it once.
"""

import logging
from dataclasses import dataclass

from taskline.backends.base import Backend
from taskline.core.clock import Clock, SystemClock
from taskline.core.workers import FORGET_AFTER_S
from taskline.errors import TasklineError

log = logging.getLogger(__name__)

# The longest sleep even when no timer is known: a safety net for notifications lost on
# the way (a Redis pub/sub reconnect), which bounds how late a task can be noticed.
MAX_IDLE_S = 1.0
RETENTION_EVERY_S = 60.0
BATCH = 1000


@dataclass(slots=True)
class TickReport:
    forwarded: int = 0
    recovered: int = 0
    trimmed: int = 0
    workers_forgotten: int = 0


class Scheduler:
    def __init__(self, backend: Backend, clock: Clock | None = None) -> None:
        self.backend = backend
        self.clock = clock or SystemClock()
        self._next_retention = 0.0

    async def run_once(self) -> TickReport:
        """Do all the work due by now: forward, recover, and (once a minute) trim retention and
        forget workers long gone."""
        report = TickReport()
        while (moved := await self.backend.forward_due(limit=BATCH)) > 0:
            report.forwarded += moved
            if moved < BATCH:
                break
        while (moved := await self.backend.recover_expired(limit=BATCH)) > 0:
            report.recovered += moved
            if moved < BATCH:
                break
        if self.clock.now() >= self._next_retention:
            self._next_retention = self.clock.now() + RETENTION_EVERY_S
            while (moved := await self.backend.trim_retention(limit=BATCH)) > 0:
                report.trimmed += moved
                if moved < BATCH:
                    break
            report.workers_forgotten = await self.backend.prune_workers(seen_before=self.clock.now() - FORGET_AFTER_S)
        return report

    async def run(self) -> None:
        """Loop until cancelled; a failing step is logged and retried, never fatal.

        Cancelling is safe at any await: each backend step is atomic on its own.
        """
        while True:
            try:
                report = await self.run_once()
                if report.recovered:
                    log.info("recovered %d expired leases", report.recovered)
                next_timer = await self.backend.next_timer()
            except TasklineError as exc:
                log.warning("scheduler step failed: %s", exc.message)
                next_timer = None
            idle = MAX_IDLE_S if next_timer is None else next_timer - self.clock.now()
            await self.backend.wait_timers(min(max(idle, 0.0), MAX_IDLE_S))
