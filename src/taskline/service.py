"""TaskService: the use cases, named as SPEC's verbs, and the only caller of the Backend.

Routes, the CLI and in-process workers come through here; it validates what callers send,
applies the limits of SPEC §4 that are not storage's business, and waits for work.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from taskline.backends.base import UNCHANGED, Backend
from taskline.core.clock import Clock, SystemClock
from taskline.core.spec import TaskSpec, parse_spec
from taskline.core.states import TaskState
from taskline.core.task import HeartbeatAck, Lease, QueueStats, Submitted, Task, TaskFilter, TaskPage
from taskline.errors import IdempotencyConflict, NotFound, PayloadTooLarge, TasklineError, ValidationFailed

log = logging.getLogger(__name__)
MAX_BULK = 1000
MAX_POLL_WAIT_S = 60.0


def _same_request(task: Task, spec: TaskSpec) -> bool:
    """Whether a resent Idempotency-Key carries the body that created `task` (Stripe's rule).
    Due times are left out: a resent `delay` is relative to a later now."""
    return (task.type, task.queue, task.payload, task.priority, task.max_retries, task.timeout) == (
        spec.type,
        spec.queue,
        spec.payload,
        spec.priority,
        spec.max_retries,
        spec.timeout,
    ) and (task.metadata, task.webhook) == (spec.metadata, spec.webhook)


class TaskService:
    def __init__(self, backend: Backend, *, max_payload_bytes: int = 1 << 20, clock: Clock | None = None) -> None:
        self.backend = backend
        self.max_payload_bytes = max_payload_bytes
        self.clock = clock or SystemClock()

    def _spec(self, data: object) -> TaskSpec:
        return parse_spec(data, now=self.clock.now(), max_payload_bytes=self.max_payload_bytes)

    async def submit(self, data: object, *, idempotency_key: str | None = None) -> Submitted:
        """Validate and store one task; `idempotency_key` acts as its unique_key.

        Raises:
            ValidationFailed, PayloadTooLarge, QueueFull, IdempotencyConflict.
        """
        spec = self._spec(data)
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= 256:
                raise ValidationFailed(
                    "Idempotency-Key is not valid",
                    [{"field": "Idempotency-Key", "message": "must be a string of 1-256 characters"}],
                )
            if spec.unique_key is not None and spec.unique_key != idempotency_key:
                raise ValidationFailed(
                    "Idempotency-Key and unique_key differ",
                    [{"field": "unique_key", "message": "must equal the Idempotency-Key header when both are given"}],
                )
            spec.unique_key = idempotency_key
        (submitted,) = await self.backend.submit([spec])
        if idempotency_key is not None and not submitted.created and not _same_request(submitted.task, spec):
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request", {"task_id": submitted.task.id}
            )
        return submitted

    async def submit_many(self, items: object) -> list[Submitted]:
        """Validate every item first, then store all or nothing.

        Raises:
            ValidationFailed: details name each broken item by `index`.
            PayloadTooLarge: an item is over a size limit (the whole request fails).
        """
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BULK:
            raise ValidationFailed(
                f"the body must be a JSON array of 1 to {MAX_BULK} tasks",
                [{"index": None, "field": "", "message": f"must be an array of 1-{MAX_BULK} task objects"}],
            )
        specs: list[TaskSpec] = []
        problems: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                specs.append(self._spec(item))
            except ValidationFailed as exc:
                problems += [{"index": index, **detail} for detail in exc.details]
            except PayloadTooLarge as exc:
                raise PayloadTooLarge(f"task {index}: {exc.message}", [{"index": index, **exc.details[0]}]) from None
        if problems:
            raise ValidationFailed("some tasks are not valid; nothing was submitted", problems)
        return await self.backend.submit(specs)

    async def get(self, task_id: str) -> Task:
        task = await self.backend.get(task_id)
        if task is None:
            raise NotFound(f"no task {task_id}")
        return task

    async def list_tasks(self, filter: TaskFilter, *, limit: int, cursor: str | None) -> TaskPage:
        return await self.backend.list_tasks(filter, limit=limit, cursor=cursor)

    async def cancel(self, task_id: str) -> Task:
        return await self.backend.cancel(task_id)

    async def retry(self, task_id: str, *, payload: Any = UNCHANGED) -> Task:
        if payload is not UNCHANGED:
            self._spec({"type": "payload-check", "payload": payload})  # the same size rule as a submit
        return await self.backend.retry(task_id, payload=payload)

    async def poll(
        self,
        *,
        worker_id: str,
        queues: Sequence[str] | None,
        types: Sequence[str] | None,
        wait_s: float,
        max: int,
    ) -> list[Lease]:
        """Lease up to `max` tasks, waiting up to `wait_s` for one to arrive.

        The wake-up signal is registered before the first look, so a task submitted between
        a look and the wait still wakes the poll.
        """
        deadline = time.monotonic() + min(wait_s, MAX_POLL_WAIT_S)
        with self.backend.watch(queues) as signal:
            while True:
                leases = await self._lease_or_hand_back(worker_id, queues, types, max)
                remaining = deadline - time.monotonic()
                if leases or remaining <= 0:
                    return leases
                log.debug("poll by %s waits up to %.1fs", worker_id, remaining)
                await signal.wait(remaining)

    async def _lease_or_hand_back(
        self, worker_id: str, queues: Sequence[str] | None, types: Sequence[str] | None, max: int
    ) -> list[Lease]:
        call = asyncio.ensure_future(self.backend.lease(worker_id=worker_id, queues=queues, types=types, max=max))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            # The lease commits even though its caller gave up: hand the tasks straight back
            # rather than leave them running, unseen, until their leases expire.
            await self.hand_back(await call)
            raise

    async def hand_back(self, leases: Sequence[Lease]) -> None:
        """Release leases nobody will work on (a poll whose client went away)."""
        for lease in leases:
            try:
                await self.backend.release(lease.task.id, lease.token)
            except TasklineError as exc:
                log.warning("could not hand back task %s: %s", lease.task.id, exc.message)

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None = None) -> HeartbeatAck:
        return await self.backend.heartbeat(task_id, token, progress=progress)

    async def complete(self, task_id: str, token: str, *, result: Any = None) -> Task:
        return await self.backend.complete(task_id, token, result=result)

    async def fail(
        self, task_id: str, token: str, *, error: str, retry: bool = True, retry_after_s: float | None = None
    ) -> Task:
        return await self.backend.fail(task_id, token, error=error, retry=retry, retry_after_s=retry_after_s)

    async def release(self, task_id: str, token: str) -> Task:
        """Hand a running task back to pending without using up its attempt (a worker shutting down)."""
        return await self.backend.release(task_id, token)

    async def stats(self) -> dict[TaskState, int]:
        return await self.backend.counts()

    async def queues(self) -> list[QueueStats]:
        return await self.backend.queue_stats()
