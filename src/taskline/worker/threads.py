"""`HandlerThreads`: sync handlers run on threads, their outcomes handed back to the loop in batches.

`ThreadPoolExecutor` with `asyncio.wrap_future` costs each call a `concurrent.futures.Future`,
an asyncio future chained to it, and one `call_soon_threadsafe` (a write that wakes the loop)
per result. Here the loop hands over a job and the asyncio future it awaits; a thread runs the
job and queues it as finished, and only the first finished job since the loop last looked
wakes it: one wake-up settles every result that came in meanwhile.
"""

import asyncio
import contextlib
import contextvars
import threading
from collections import deque
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any


class Job:
    """One call: `result` is what the attempt awaits; `finished` is done once the thread has
    returned, which may be long after `result` was cancelled (a thread can't be stopped)."""

    __slots__ = ("args", "call", "context", "error", "finished", "outcome", "result")

    def __init__(self, call: Callable[..., Any], args: tuple[Any, ...], loop: asyncio.AbstractEventLoop) -> None:
        self.call = call
        self.args = args
        self.context = contextvars.copy_context()  # the handler sees the context vars of its attempt
        self.result: asyncio.Future[Any] = loop.create_future()
        self.finished: asyncio.Future[None] = loop.create_future()
        self.outcome: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        if self.result.cancelled():  # given up (a timeout, a cancel, a stop) before a thread took it
            return
        try:
            self.outcome = self.context.run(self.call, *self.args)
        except StopIteration as exc:  # an asyncio future refuses StopIteration itself
            self.error = RuntimeError(f"the handler raised StopIteration: {exc}")
        except BaseException as exc:  # whatever it raised is the attempt's outcome
            self.error = exc

    def settle(self) -> None:
        """On the loop: hand the outcome to whoever still awaits it."""
        if not self.result.done():
            if self.error is None:
                self.result.set_result(self.outcome)
            else:
                self.result.set_exception(self.error)
        self.finished.set_result(None)
        self.error = None  # no cycle through the traceback


class HandlerThreads:
    """Up to `size` threads, started as needed. The worker never has more calls out than it has
    slots, and a stuck call keeps its slot until it returns, so no job waits for a thread."""

    def __init__(self, size: int, *, name: str) -> None:
        self._size = size
        self._name = name
        self._jobs: SimpleQueue[Job | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Semaphore(0)
        self._finished: deque[Job] = deque()
        self._lock = threading.Lock()
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def submit(self, call: Callable[..., Any], *args: Any) -> Job:
        """Called on the loop. Cancelling the job's `result` before a thread takes it skips the call."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        job = Job(call, args, self._loop)
        self._jobs.put(job)
        if not self._idle.acquire(blocking=False) and len(self._threads) < self._size:
            thread = threading.Thread(target=self._serve, name=f"{self._name}_{len(self._threads)}")
            thread.start()
            self._threads.append(thread)
        return job

    def shutdown(self) -> None:
        """Let every thread end once its current call returns; jobs not yet taken are dropped."""
        while not self._jobs.empty():
            job = self._jobs.get_nowait()
            if job is not None:
                job.result.cancel()
                job.finished.set_result(None)
        for _ in self._threads:
            self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job.run()
            self._hand_back(job)
            self._idle.release()

    def _hand_back(self, job: Job) -> None:
        with self._lock:
            self._finished.append(job)
            wake, self._wake_pending = not self._wake_pending, True
        if wake:
            assert self._loop is not None
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody awaits these any more
                self._loop.call_soon_threadsafe(self._settle)

    def _settle(self) -> None:
        with self._lock:
            self._wake_pending = False
            finished, self._finished = self._finished, deque()
        for job in finished:
            job.settle()
