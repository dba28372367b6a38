"""The client's calls over the HTTP API (SPEC §3): `HttpEngine` on httpx for `AsyncClient`,
`BlockingHttpEngine` on http.client for `Client`. Both send what `protocol` builds."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

from taskline.client import protocol
from taskline.client.api import ApiConnection
from taskline.client.blocking_api import BlockingApiConnection
from taskline.client.events import Event, socket_events
from taskline.client.schedules import Schedule
from taskline.core.task import QueueStats, Source, Stats, Task, TaskFilter, TaskPage
from taskline.core.workers import WorkerRecord
from taskline.events.filter import EventFilter
from taskline.events.types import Lagged


class HttpEngine:
    def __init__(self, url: str, *, api_key: str | None, timeout_s: float, max_connections: int = 100) -> None:
        self._api = ApiConnection(url, api_key=api_key, timeout=timeout_s, max_connections=max_connections)
        self._api_key = api_key
        self._send = self._api.send

    async def submit(self, spec: dict[str, Any], idempotency_key: str | None) -> Task:
        return await self._send(protocol.submit(spec, idempotency_key))

    async def submit_many(self, specs: list[dict[str, Any]]) -> list[Task]:
        return await self._send(protocol.submit_many(specs))

    async def get(self, task_id: str) -> Task:
        return await self._send(protocol.get(task_id))

    async def list_tasks(self, filter: TaskFilter, limit: int, cursor: str | None, source: Source = "live") -> TaskPage:
        return await self._send(protocol.list_tasks(filter, limit, cursor, source))

    async def cancel(self, task_id: str) -> Task:
        return await self._send(protocol.cancel(task_id))

    async def retry(self, task_id: str, payload: Any) -> Task:
        return await self._send(protocol.retry(task_id, payload))

    async def short_ids(self, ids: Sequence[str]) -> dict[str, str]:
        return await self._send(protocol.short_ids(ids))

    async def stats(self) -> Stats:
        return await self._send(protocol.stats())

    async def queues(self) -> list[QueueStats]:
        return await self._send(protocol.queues())

    async def workers(self) -> list[WorkerRecord]:
        return await self._send(protocol.workers())

    async def pause_queue(self, queue: str) -> None:
        await self._send(protocol.pause_queue(queue))

    async def resume_queue(self, queue: str) -> None:
        await self._send(protocol.resume_queue(queue))

    async def purge(self, queue: str, priority: int | str | None) -> int:
        return await self._send(protocol.purge(queue, priority))

    def events(self, filter: EventFilter, since: str | None) -> AsyncIterator[Event | Lagged]:
        return socket_events(self._api.url, filter, since, api_key=self._api_key)

    async def dlq(self, limit: int, cursor: str | None) -> TaskPage:
        return await self._send(protocol.dlq(limit, cursor))

    async def dlq_retry(self, ids: Sequence[str] | None) -> int:
        return await self._send(protocol.dlq_retry(ids))

    async def dlq_delete(self) -> int:
        return await self._send(protocol.dlq_delete())

    async def add_schedule(self, body: dict[str, Any]) -> Schedule:
        return await self._send(protocol.add_schedule(body))

    async def list_schedules(self) -> list[Schedule]:
        return await self._send(protocol.list_schedules())

    async def get_schedule(self, name: str) -> Schedule:
        return await self._send(protocol.get_schedule(name))

    async def remove_schedule(self, name: str) -> None:
        await self._send(protocol.remove_schedule(name))

    async def pause_schedule(self, name: str) -> Schedule:
        return await self._send(protocol.pause_schedule(name))

    async def resume_schedule(self, name: str) -> Schedule:
        return await self._send(protocol.resume_schedule(name))

    async def close(self) -> None:
        await self._api.close()


class BlockingHttpEngine:
    def __init__(self, url: str, *, api_key: str | None, timeout_s: float) -> None:
        self._api = BlockingApiConnection(url, api_key=api_key, timeout=timeout_s)
        self._send = self._api.send

    def submit(self, spec: dict[str, Any], idempotency_key: str | None) -> Task:
        return self._send(protocol.submit(spec, idempotency_key))

    def submit_many(self, specs: list[dict[str, Any]]) -> list[Task]:
        return self._send(protocol.submit_many(specs))

    def get(self, task_id: str) -> Task:
        return self._send(protocol.get(task_id))

    def list_tasks(self, filter: TaskFilter, limit: int, cursor: str | None, source: Source = "live") -> TaskPage:
        return self._send(protocol.list_tasks(filter, limit, cursor, source))

    def cancel(self, task_id: str) -> Task:
        return self._send(protocol.cancel(task_id))

    def retry(self, task_id: str, payload: Any) -> Task:
        return self._send(protocol.retry(task_id, payload))

    def short_ids(self, ids: Sequence[str]) -> dict[str, str]:
        return self._send(protocol.short_ids(ids))

    def stats(self) -> Stats:
        return self._send(protocol.stats())

    def queues(self) -> list[QueueStats]:
        return self._send(protocol.queues())

    def workers(self) -> list[WorkerRecord]:
        return self._send(protocol.workers())

    def pause_queue(self, queue: str) -> None:
        self._send(protocol.pause_queue(queue))

    def resume_queue(self, queue: str) -> None:
        self._send(protocol.resume_queue(queue))

    def purge(self, queue: str, priority: int | str | None) -> int:
        return self._send(protocol.purge(queue, priority))

    def dlq(self, limit: int, cursor: str | None) -> TaskPage:
        return self._send(protocol.dlq(limit, cursor))

    def dlq_retry(self, ids: Sequence[str] | None) -> int:
        return self._send(protocol.dlq_retry(ids))

    def dlq_delete(self) -> int:
        return self._send(protocol.dlq_delete())

    def add_schedule(self, body: dict[str, Any]) -> Schedule:
        return self._send(protocol.add_schedule(body))

    def list_schedules(self) -> list[Schedule]:
        return self._send(protocol.list_schedules())

    def get_schedule(self, name: str) -> Schedule:
        return self._send(protocol.get_schedule(name))

    def remove_schedule(self, name: str) -> None:
        self._send(protocol.remove_schedule(name))

    def pause_schedule(self, name: str) -> Schedule:
        return self._send(protocol.pause_schedule(name))

    def resume_schedule(self, name: str) -> Schedule:
        return self._send(protocol.resume_schedule(name))

    def close(self) -> None:
        self._api.close()
