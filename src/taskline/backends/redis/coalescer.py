"""Submits to one queue that arrive together share one script call: Redis's group commit.

Each script call costs a round trip and the client's per-command work whatever its size,
so under concurrent load (an API server taking many single submits) submits that arrive
while a call to their queue is in flight wait for the next call and go in together. A
lone submit goes at once, in its caller's own task, so nothing waits and nothing is
scheduled when nothing else is happening (a sequential producer pays no task and no
future a submit).
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from taskline.core.task import Submitted, Task
from taskline.errors import QueueFull

SubmitToQueue = Callable[[str, list[Task]], Awaitable[list[Submitted]]]
MAX_BATCH = 500  # tasks per script call; bounds how long one call holds Redis


@dataclass
class _Waiting:
    tasks: list[Task]
    done: asyncio.Future[list[Submitted]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class SubmitCoalescer:
    def __init__(self, submit_to_queue: SubmitToQueue) -> None:
        self._submit_to_queue = submit_to_queue
        self._waiting: dict[str, deque[_Waiting]] = {}
        self._flushing: set[str] = set()
        self._flushes: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references

    async def submit(self, queue: str, tasks: list[Task]) -> list[Submitted]:
        """Store `tasks` (all of one queue), sharing a script call with concurrent callers."""
        if queue not in self._flushing:
            self._flushing.add(queue)
            try:
                return await self._submit_to_queue(queue, tasks)
            finally:
                self._flushing.discard(queue)
                if queue in self._waiting:  # arrived meanwhile: they go together now
                    self._start_flush(queue)
        waiting = _Waiting(tasks)
        self._waiting.setdefault(queue, deque()).append(waiting)
        return await waiting.done

    def _start_flush(self, queue: str) -> None:
        self._flushing.add(queue)
        flush = asyncio.get_running_loop().create_task(self._flush(queue))
        self._flushes.add(flush)
        flush.add_done_callback(self._flushes.discard)

    async def _flush(self, queue: str) -> None:
        try:
            while waiting := self._take_batch(queue):
                await self._store(queue, waiting)
        finally:
            self._flushing.discard(queue)

    def _take_batch(self, queue: str) -> list[_Waiting]:
        queued = self._waiting.get(queue, deque())
        batch: list[_Waiting] = []
        size = 0
        while queued and (not batch or size + len(queued[0].tasks) <= MAX_BATCH):
            batch.append(queued.popleft())
            size += len(batch[-1].tasks)
        if not queued:
            self._waiting.pop(queue, None)
        return batch

    async def _store(self, queue: str, batch: list[_Waiting]) -> None:
        try:
            outcomes = await self._submit_to_queue(queue, [task for w in batch for task in w.tasks])
        except QueueFull as refused:
            if len(batch) == 1:
                _settle(batch[0], error=refused)
                return
            # Together they do not fit; one by one, those that fit are stored as if alone.
            for waiting in batch:
                await self._store(queue, [waiting])
        except Exception as exc:
            for waiting in batch:
                _settle(waiting, error=exc)
        else:
            at = 0
            for waiting in batch:
                _settle(waiting, outcomes[at : at + len(waiting.tasks)])
                at += len(waiting.tasks)


def _settle(waiting: _Waiting, outcomes: list[Submitted] | None = None, error: Exception | None = None) -> None:
    if waiting.done.done():  # its caller was cancelled; what it submitted is stored all the same
        return
    if error is not None:
        waiting.done.set_exception(error)
    else:
        waiting.done.set_result(outcomes or [])
