"""Firing periodic schedules (SPEC §10): one step of the scheduler loop.

For each schedule due by now: submit the task of its latest tick at or before now through the
backend's submit (so it is announced, counted and webhooked like any task), with the unique_key
`<name>:<tick>`; then advance the schedule with a compare-and-set on its next run. Submit first,
then advance: a crash between the two leaves the tick due, and whoever fires it next finds the
key and gets the same task, so any number of servers may run this step against one store.
Ticks missed while no server ran are submitted once, for the latest of them.
"""

import logging

from taskline.backends.base import Backend
from taskline.core.clock import Clock
from taskline.core.schedules import Schedule, latest_tick, next_tick, tick_spec
from taskline.core.task import Task
from taskline.errors import QueueFull
from taskline.wire import rfc3339

log = logging.getLogger(__name__)

BATCH = 100


class ScheduleFirer:
    """Submits the due ticks of every schedule; `run_once` returns how many it fired."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def run_once(self) -> int:
        """Fire up to BATCH due schedules; more due ones wake the loop again at once."""
        fired = 0
        for schedule in await self._backend.due_schedules(limit=BATCH):
            fired += await self.fire(schedule)
        return fired

    async def fire(self, schedule: Schedule) -> bool:
        """Fire one due schedule; True if this call advanced it (another server may have)."""
        due_at = schedule.next_run_at
        now = self._clock.now()
        if due_at is None or due_at > now:  # read after another scheduler advanced it: not due
            return False
        tick = latest_tick(schedule.definition, due_at, now)
        task: Task | None = None
        try:
            (submitted,) = await self._backend.submit([tick_spec(schedule, tick, rfc3339(tick) or "")])
            task = submitted.task
        except QueueFull as exc:
            # Retrying at once would spin the loop; the tick is skipped, said loudly.
            log.warning("schedule %s: tick %s not submitted: %s", schedule.name, rfc3339(tick), exc.message)
        return await self._backend.advance_schedule(
            schedule.name,
            due_at=due_at,
            next_run_at=next_tick(schedule.definition, now),
            ran_at=tick,
            task=task,
        )
