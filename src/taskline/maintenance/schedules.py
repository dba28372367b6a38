"""Firing periodic schedules (SPEC §10): one step of the scheduler loop.

For each schedule due by now: submit the task of its latest tick at or before now through the
backend's submit (so it is announced, counted and webhooked like any task), with the unique_key
`<name>:<tick>`; then advance the schedule with a compare-and-set on its next run. Submit first,
then advance: a crash between the two leaves the tick due, and whoever fires it next finds the
key and gets the same task, so any number of servers may run this step against one store.
Ticks missed while no server ran are submitted once, for the latest of them.

One schedule that cannot be fired (a time zone this process cannot load, a corrupt stored
definition, a store error on its queue) is logged and put aside for RETRY_S: it stays first in
the due order, and without that it would stop every schedule behind it, or spin the loop.
"""

import logging

from taskline.backends.base import Backend
from taskline.core.clock import Clock
from taskline.core.schedules import Schedule, latest_tick, next_tick, tick_spec
from taskline.core.task import Submitted, Task
from taskline.errors import QueueFull, TasklineError
from taskline.wire import rfc3339

log = logging.getLogger(__name__)

BATCH = 100
RETRY_S = 1.0  # a schedule whose firing failed is tried again this much later (not at once: no spinning)


class ScheduleFirer:
    """Submits the due ticks of every schedule; `run_once` returns how many it fired."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock
        self._retry_at: dict[str, float] = {}  # name -> not before: schedules whose firing failed

    @property
    def retry_at(self) -> float | None:
        """The earliest time a schedule put aside after a failure is tried again; None if none is."""
        return min(self._retry_at.values(), default=None)

    async def run_once(self) -> int:
        """Fire up to BATCH due schedules; more due ones wake the loop again at once. A schedule
        whose firing raises is logged and left until RETRY_S later; the others go on."""
        now = self._clock.now()
        self._retry_at = {name: at for name, at in self._retry_at.items() if at > now}
        fired = 0
        # The ones put aside are still due and first in order: read past them.
        for schedule in await self._backend.due_schedules(limit=BATCH + len(self._retry_at)):
            if schedule.name in self._retry_at:
                continue
            try:
                fired += await self.fire(schedule)
            except Exception:  # whatever one schedule raises must not stop the others
                log.exception("schedule %s: firing failed; tried again in %.0f s", schedule.name, RETRY_S)
                self._retry_at[schedule.name] = self._clock.now() + RETRY_S
        return fired

    async def fire(self, schedule: Schedule) -> bool:
        """Fire one due schedule; True if this call advanced it (another server may have)."""
        due_at = schedule.next_run_at
        now = self._clock.now()
        if due_at is None or due_at > now:  # read after another scheduler advanced it: not due
            return False
        tick = latest_tick(schedule.definition, due_at, now)
        submitted: Submitted | None = None
        try:
            (submitted,) = await self._backend.submit([tick_spec(schedule, tick, rfc3339(tick) or "")])
        except QueueFull as exc:
            # Retrying at once would spin the loop; the tick is skipped, said loudly.
            log.warning("schedule %s: tick %s not submitted: %s", schedule.name, rfc3339(tick), exc.message)
        task = None if submitted is None else submitted.task
        advanced = await self._backend.advance_schedule(
            schedule.name,
            due_at=due_at,
            next_run_at=next_tick(schedule.definition, now),
            ran_at=tick,
            task=task,
        )
        if not advanced and submitted is not None and submitted.created:
            await self._withdraw_if_overtaken(schedule, submitted.task)
        return advanced

    async def _withdraw_if_overtaken(self, read: Schedule, task: Task) -> None:
        """The advance lost after this call created the tick's task. Either another scheduler
        advanced the schedule (it found this task by its key and announced it: nothing to do),
        or a pause, delete or replace came between the read and the advance. Then the client
        was told the change took effect before this task appeared, and no schedule.fired or
        last_task_id records it: a task nobody accounts for, from a schedule the client
        stopped. It is still pending (just created), so it is cancelled, which is cheap and
        announced (task.cancelled)."""
        now = await self._backend.get_schedule(read.name)
        overtaken = (
            now is None or now.paused or (now.updated_at != read.updated_at and now.definition != read.definition)
        )
        if not overtaken or (now is not None and now.last_task_id == task.id):
            return
        try:
            await self._backend.cancel(task.id)
            log.info("schedule %s: changed while firing; its task %s cancelled", read.name, task.id)
        except TasklineError as exc:  # a worker took it already, say: it runs, as a task does
            log.warning("schedule %s: changed while firing; task %s not cancelled: %s", read.name, task.id, exc.message)
