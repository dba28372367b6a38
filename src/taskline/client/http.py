"""`HttpEngine`: the client's calls as requests to the HTTP API (SPEC §3), via httpx."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

from taskline.client.api import ApiConnection
from taskline.client.events import socket_events
from taskline.core.sentinel import UNCHANGED
from taskline.core.states import TaskState
from taskline.core.task import QueueStats, Stats, Task, TaskFilter, TaskPage
from taskline.events.filter import EventFilter
from taskline.events.types import Event, Lagged
from taskline.wire import queue_from_json, task_from_json


class HttpEngine:
    def __init__(self, url: str, *, api_key: str | None, timeout_s: float) -> None:
        self._api = ApiConnection(url, api_key=api_key, timeout=timeout_s)
        self._api_key = api_key
        self._call = self._api.call

    async def submit(self, spec: dict[str, Any], idempotency_key: str | None) -> Task:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        return task_from_json(await self._call("POST", "/api/v1/tasks", body=spec, headers=headers))

    async def submit_many(self, specs: list[dict[str, Any]]) -> list[Task]:
        answer = await self._call("POST", "/api/v1/tasks/bulk", body=specs)
        return [task_from_json(t) for t in answer["tasks"]]

    async def get(self, task_id: str) -> Task:
        return task_from_json(await self._call("GET", f"/api/v1/tasks/{task_id}"))

    async def list_tasks(self, filter: TaskFilter, limit: int, cursor: str | None) -> TaskPage:
        params = {"state": filter.state, "type": filter.type, "queue": filter.queue, "limit": limit, "cursor": cursor}
        return _page(await self._call("GET", "/api/v1/tasks", params=params))

    async def cancel(self, task_id: str) -> Task:
        return task_from_json(await self._call("DELETE", f"/api/v1/tasks/{task_id}"))

    async def retry(self, task_id: str, payload: Any) -> Task:
        body = None if payload is UNCHANGED else {"payload": payload}
        return task_from_json(await self._call("POST", f"/api/v1/tasks/{task_id}/retry", body=body))

    async def stats(self) -> Stats:
        answer = await self._call("GET", "/api/v1/stats")
        states = {TaskState(name): n for name, n in answer["states"].items()}
        return Stats(states=states, total=answer["total"], workers=answer["workers"])

    async def queues(self) -> list[QueueStats]:
        answer = await self._call("GET", "/api/v1/queues")
        return [queue_from_json(q) for q in answer["queues"]]

    async def pause_queue(self, queue: str) -> None:
        await self._call("POST", f"/admin/queues/{queue}/pause")

    async def resume_queue(self, queue: str) -> None:
        await self._call("POST", f"/admin/queues/{queue}/resume")

    async def purge(self, queue: str, priority: int | str | None) -> int:
        answer = await self._call("DELETE", f"/admin/queues/{queue}", params={"priority": priority})
        return int(answer["purged"])

    def events(self, filter: EventFilter, since: str | None) -> AsyncIterator[Event | Lagged]:
        return socket_events(self._api.url, filter, since, api_key=self._api_key)

    async def dlq(self, limit: int, cursor: str | None) -> TaskPage:
        return _page(await self._call("GET", "/admin/dlq", params={"limit": limit, "cursor": cursor}))

    async def dlq_retry(self, ids: Sequence[str] | None) -> int:
        body = None if ids is None else {"ids": list(ids)}
        return int((await self._call("POST", "/admin/dlq/retry", body=body))["retried"])

    async def dlq_delete(self) -> int:
        return int((await self._call("DELETE", "/admin/dlq"))["deleted"])

    async def close(self) -> None:
        await self._api.close()


def _page(answer: dict[str, Any]) -> TaskPage:
    return TaskPage([task_from_json(t) for t in answer["tasks"]], answer["next_cursor"])
