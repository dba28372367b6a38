"""The minute sampler: a scheduler duty that stores the task totals at the start of each minute.

It samples once at start, then at each minute boundary of the injected clock. Every server
samples (on Redis, every one sharing the store); the backend keeps the first sample of each
minute, so the series is the same whichever instance answers. A server that starts in the
middle of a minute samples that minute late: the minute then shows only what followed.
"""

from taskline.backends.base import Backend
from taskline.core.clock import Clock
from taskline.core.samples import MINUTE_S, minute_of, totals_of


class MinuteSampler:
    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock
        self._due = float("-inf")  # due at once: the first sample is taken at start

    @property
    def due_at(self) -> float:
        """When the next sample is due (the start of the next minute, once one was taken)."""
        return self._due

    async def run_once(self) -> bool | None:
        """Sample the current minute if due: True if this stored it, False if another process
        had, None if it was not due. Stays due when the backend fails, so it is tried again.

        Raises:
            TasklineError: the backend could not be read or written.
        """
        now = self._clock.now()
        if now < self._due:
            return None
        minute = minute_of(now)
        stored = await self._backend.record_sample(minute, totals_of(await self._backend.task_metrics()))
        self._due = (minute + 1) * MINUTE_S
        return stored
