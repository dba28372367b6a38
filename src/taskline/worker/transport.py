"""How a worker reaches the engine: over the HTTP API any language uses, or in-process.

`LocalTransport` wraps a `TaskService` (straight on Redis with `TASKLINE_REDIS_URL`, or inside
`taskline serve --workers`); `HttpTransport` speaks the poll/heartbeat/complete/fail/release
routes. The runner sees only this protocol, so both paths behave the same.
"""

from collections.abc import Sequence
from typing import Any, Protocol

import httpx

from taskline.core.task import HeartbeatAck, Lease
from taskline.errors import TasklineError, error_for_code
from taskline.service import TaskService
from taskline.wire import from_rfc3339, lease_from_json


class Transport(Protocol):
    async def poll(
        self, *, worker_id: str, queues: Sequence[str] | None, types: Sequence[str] | None, wait_s: float, max: int
    ) -> list[Lease]: ...

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None) -> HeartbeatAck: ...

    async def complete(self, task_id: str, token: str, *, result: Any) -> None: ...

    async def fail(
        self, task_id: str, token: str, *, error: str, retry: bool, retry_after_s: float | None = None
    ) -> None: ...

    async def release(self, task_id: str, token: str) -> None: ...

    async def close(self) -> None: ...


class LocalTransport:
    """The engine in this process. `owns_service` closes its backend on `close()`."""

    def __init__(self, service: TaskService, *, owns_service: bool = False) -> None:
        self.service = service
        self._owns_service = owns_service

    async def poll(
        self, *, worker_id: str, queues: Sequence[str] | None, types: Sequence[str] | None, wait_s: float, max: int
    ) -> list[Lease]:
        return await self.service.poll(worker_id=worker_id, queues=queues, types=types, wait_s=wait_s, max=max)

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None) -> HeartbeatAck:
        return await self.service.heartbeat(task_id, token, progress=progress)

    async def complete(self, task_id: str, token: str, *, result: Any) -> None:
        await self.service.complete(task_id, token, result=result)

    async def fail(
        self, task_id: str, token: str, *, error: str, retry: bool, retry_after_s: float | None = None
    ) -> None:
        await self.service.fail(task_id, token, error=error, retry=retry, retry_after_s=retry_after_s)

    async def release(self, task_id: str, token: str) -> None:
        await self.service.release(task_id, token)

    async def close(self) -> None:
        if self._owns_service:
            await self.service.backend.close()


class HttpTransport:
    """The worker routes of a Taskline server (SPEC §3), on one pooled connection set."""

    def __init__(self, server: str, *, api_key: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # Long polls hold a connection for up to a minute: the read timeout must outlast them.
        self._http = httpx.AsyncClient(
            base_url=server.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(10.0, read=90.0),
        )

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._http.post(path, json=body)
        return _checked(response)

    async def poll(
        self, *, worker_id: str, queues: Sequence[str] | None, types: Sequence[str] | None, wait_s: float, max: int
    ) -> list[Lease]:
        params: dict[str, Any] = {"worker_id": worker_id, "wait": wait_s, "max": max}
        if queues:
            params["queues"] = ",".join(queues)
        if types:
            params["types"] = ",".join(types)
        response = await self._http.get("/api/v1/poll", params=params)
        if response.status_code == 204:
            return []
        return [lease_from_json(task) for task in _checked(response)["tasks"]]

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None) -> HeartbeatAck:
        body: dict[str, Any] = {"token": token}
        if progress is not None:
            body["progress"] = progress
        ack = await self._post(f"/api/v1/tasks/{task_id}/heartbeat", body)
        return HeartbeatAck(from_rfc3339(ack["expires_at"]) or 0.0, ack["cancel_requested"])

    async def complete(self, task_id: str, token: str, *, result: Any) -> None:
        await self._post(f"/api/v1/tasks/{task_id}/complete", {"token": token, "result": result})

    async def fail(
        self, task_id: str, token: str, *, error: str, retry: bool, retry_after_s: float | None = None
    ) -> None:
        body: dict[str, Any] = {"token": token, "error": error, "retry": retry}
        if retry_after_s is not None:
            body["retry_after"] = retry_after_s
        await self._post(f"/api/v1/tasks/{task_id}/fail", body)

    async def release(self, task_id: str, token: str) -> None:
        await self._post(f"/api/v1/tasks/{task_id}/release", {"token": token})

    async def close(self) -> None:
        await self._http.aclose()


def _checked(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a 2xx; otherwise the `taskline.errors` class of the API's error code."""
    if response.is_success:
        body: dict[str, Any] = response.json()
        return body
    try:
        error = response.json()["error"]
        code, message, details = error["code"], error["message"], error.get("details")
    except (ValueError, KeyError, TypeError):
        raise TasklineError(f"HTTP {response.status_code}: {response.text[:200]}") from None
    raise error_for_code(code, message, details)
