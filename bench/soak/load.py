"""The soak's load and its observers: a producer at a steady rate, and a follower of the
`task.completed` events that yields each task's end-to-end latency.

Times are seconds since the run's start on the wall clock (`time.time()`), the clock the server
stamps `created_at` and `completed_at` with, so submits and completions share one axis.
"""

import asyncio
import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import taskline
from taskline.events.types import Event

QUEUE = "soak"
CATCH_UP_S = 1.0  # behind by more than this (an API down): skip the ticks rather than burst


@dataclass
class Producer:
    """`rate` submits a second through the blocking `Client` over HTTP, from `threads` threads
    (each its own `Client`, one submit every threads/rate s, staggered): one thread alone cannot
    hold 100/s once a submit takes over 10 ms, as it does on a busy machine. The first hour ran
    with 4 and held 63–99/s as the machine's other load came and went (docs/reliability.md
    "Soak"); a store's memory follows the tasks it holds, so an unsteady rate reads as growth."""

    url: str
    rate: float
    start: float
    threads: int = 16
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (submitted at, seconds)
    errors: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: list[threading.Thread] = field(default_factory=list)

    def begin(self) -> None:
        first = time.monotonic()
        for n in range(self.threads):
            thread = threading.Thread(
                target=self._run, args=(n, first + n / self.rate), name=f"soak-producer-{n}", daemon=True
            )
            thread.start()
            self._running.append(thread)

    def end(self) -> None:
        self._stop.set()
        for thread in self._running:
            thread.join()

    @property
    def acknowledged(self) -> int:
        return len(self.latencies)

    def _run(self, lane: int, next_at: float) -> None:
        period = self.threads / self.rate
        with taskline.Client(self.url, timeout=10) as client:
            n = lane
            while not self._stop.is_set():
                ahead = next_at - time.monotonic()
                if ahead > 0:
                    self._stop.wait(ahead)  # the pacing of a steady rate, not a wait for anything
                    continue
                if -ahead > CATCH_UP_S:
                    missed = int(-ahead / period)
                    with self._lock:
                        self.skipped += missed
                    next_at += missed * period
                at, began = time.time() - self.start, time.perf_counter()
                try:
                    client.submit("soak", {"n": n}, queue=QUEUE)
                except Exception as exc:  # an API being restarted: counted, and the load goes on
                    with self._lock:
                        self.errors[type(exc).__name__] += 1
                else:
                    self.latencies.append((at, time.perf_counter() - began))
                n += self.threads
                next_at += period


@dataclass
class Follower:
    """Every `task.completed` event over `/ws` (resumed by the client after a drop), in a thread
    of its own with its own event loop, as (completed at, completed_at - created_at)."""

    url: str
    start: float
    latencies: list[tuple[float, float]] = field(default_factory=list)
    lagged: int = 0
    # Tasks created before this (epoch s) are not the load's: the probes that waited for the socket.
    since: float = 0.0
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _task: "asyncio.Task[None] | None" = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def begin(self) -> None:
        self._thread = threading.Thread(target=self._run, name="soak-follower", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def end(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        self._task = self._loop.create_task(self._follow())
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        self._loop.close()

    async def _follow(self) -> None:
        async with taskline.AsyncClient(self.url) as client:
            self._ready.set()
            async for item in client.events(["task.completed"], queue=QUEUE):
                if not isinstance(item, Event):
                    self.lagged += 1  # events gone before they were read: latencies missing, said so
                    continue
                task = item.task
                if task is not None and task.completed_at is not None and task.created_at >= self.since:
                    self.latencies.append((task.completed_at - self.start, task.completed_at - task.created_at))
