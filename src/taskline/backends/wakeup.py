"""In-process wake-ups: long polls wait for work, the scheduler waits for timers.

Both backends feed the same hub: SQLite after its own commits, Redis from a pub/sub
listener, so a waiter never sleeps in a loop and never misses a notification that lands
between its last look and its wait (it registers before it looks).
"""

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from taskline.waiting import wait_event

MAX_TIMER_WAIT_S = 1.0
"""The longest the scheduler waits between looks: a new timer further off than this needs no
wake-up, since the scheduler will have looked again before it falls due."""


class WorkSignal:
    """Set when work may have become leasable in one of the queues it watches."""

    def __init__(self, queues: frozenset[str] | None) -> None:
        self.queues = queues
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, within_s: float) -> bool:
        """Wait until notified (since the last wait), at most `within_s`; True if notified."""
        if self._event.is_set():  # a 0 timeout would end the wait before it looked
            self._event.clear()
            return True
        try:
            return await wait_event(self._event, within_s)
        finally:
            self._event.clear()


class WakeupHub:
    def __init__(self) -> None:
        self._watchers: set[WorkSignal] = set()
        self._timers = asyncio.Event()

    @contextmanager
    def watch(self, queues: Iterable[str] | None) -> Iterator[WorkSignal]:
        """Register interest in `queues` (None: every queue) for the life of the block."""
        signal = WorkSignal(frozenset(queues) if queues is not None else None)
        self._watchers.add(signal)
        try:
            yield signal
        finally:
            self._watchers.discard(signal)

    def work_ready(self, queue: str | None) -> None:
        """Wake the watchers of `queue` (None: all of them)."""
        for signal in self._watchers:
            if queue is None or signal.queues is None or queue in signal.queues:
                signal.set()

    def timers_changed(self) -> None:
        """A due time or lease deadline may now be earlier than the scheduler thinks."""
        self._timers.set()

    async def wait_timers(self, max_wait_s: float) -> None:
        try:
            await wait_event(self._timers, max_wait_s)
        finally:
            self._timers.clear()
