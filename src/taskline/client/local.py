"""`LocalEngine`: the client's calls made straight to the store through a `TaskService`, for
`redis://` URLs: no API server in between, the same path the Python worker takes on Redis."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from taskline.client.events import Event, store_events
from taskline.client.schedules import Schedule, schedule_from_json
from taskline.config import Settings
from taskline.core.schedules import Schedule as StoredSchedule
from taskline.core.task import QueueStats, Source, Stats, Task, TaskFilter, TaskPage
from taskline.core.workers import WorkerRecord
from taskline.events.filter import EventFilter
from taskline.events.types import Lagged
from taskline.service import TaskService
from taskline.wire import schedule_json


class LocalEngine:
    """Opens the backend on first use (the client's constructor is not async)."""

    def __init__(self, redis_url: str, *, settings: Settings) -> None:
        self._redis_url = redis_url
        self._settings = settings
        self._service: TaskService | None = None
        self._opening = asyncio.Lock()

    async def _open(self) -> TaskService:
        if self._service is not None:  # the common case, without the lock
            return self._service
        async with self._opening:
            if self._service is None:
                # A client neither polls nor schedules: no wake-up subscription to feed.
                self._service = await TaskService.open(self._settings, redis_url=self._redis_url, wake_ups=False)
            return self._service

    async def submit(self, spec: dict[str, Any], idempotency_key: str | None) -> Task:
        return (await (await self._open()).submit(spec, idempotency_key=idempotency_key)).task

    async def submit_many(self, specs: list[dict[str, Any]]) -> list[Task]:
        return [s.task for s in await (await self._open()).submit_many(specs)]

    async def get(self, task_id: str) -> Task:
        return await (await self._open()).get(task_id)

    async def list_tasks(self, filter: TaskFilter, limit: int, cursor: str | None, source: Source = "live") -> TaskPage:
        return await (await self._open()).list_tasks(filter, limit=limit, cursor=cursor, source=source)

    async def cancel(self, task_id: str) -> Task:
        return await (await self._open()).cancel(task_id)

    async def retry(self, task_id: str, payload: Any) -> Task:
        return await (await self._open()).retry(task_id, payload=payload)

    async def resolve_id(self, text: str) -> str:
        return await (await self._open()).resolve_id(text)

    async def short_ids(self, ids: Sequence[str]) -> dict[str, str]:
        return await (await self._open()).short_ids(ids)

    async def stats(self) -> Stats:
        return await (await self._open()).stats()

    async def queues(self) -> list[QueueStats]:
        return await (await self._open()).queues()

    async def workers(self) -> list[WorkerRecord]:
        return await (await self._open()).workers()

    async def pause_queue(self, queue: str) -> None:
        await (await self._open()).pause_queue(queue)

    async def resume_queue(self, queue: str) -> None:
        await (await self._open()).resume_queue(queue)

    async def purge(self, queue: str, priority: int | str | None) -> int:
        return await (await self._open()).purge(queue, priority=priority)

    async def dlq(self, limit: int, cursor: str | None) -> TaskPage:
        return await (await self._open()).dlq_list(limit=limit, cursor=cursor)

    async def dlq_retry(self, ids: Sequence[str] | None) -> int:
        return await (await self._open()).dlq_retry(None if ids is None else list(ids))

    async def dlq_delete(self) -> int:
        return await (await self._open()).dlq_delete()

    async def add_schedule(self, body: dict[str, Any]) -> Schedule:
        schedule, _ = await (await self._open()).put_schedule(body)
        return _schedule(schedule)

    async def list_schedules(self) -> list[Schedule]:
        return [_schedule(s) for s in await (await self._open()).schedules()]

    async def get_schedule(self, name: str) -> Schedule:
        return _schedule(await (await self._open()).schedule(name))

    async def remove_schedule(self, name: str) -> None:
        await (await self._open()).delete_schedule(name)

    async def pause_schedule(self, name: str) -> Schedule:
        return _schedule(await (await self._open()).pause_schedule(name))

    async def resume_schedule(self, name: str) -> Schedule:
        return _schedule(await (await self._open()).resume_schedule(name))

    async def events(self, filter: EventFilter, since: str | None) -> AsyncIterator[Event | Lagged]:
        async for item in store_events(await self._open(), filter, since):
            yield item

    async def close(self) -> None:
        if self._service is not None:
            await self._service.close()
            self._service = None


def _schedule(stored: StoredSchedule) -> Schedule:
    """The service's schedule as the client's `Schedule`: through the JSON the API would send."""
    return schedule_from_json(schedule_json(stored))
