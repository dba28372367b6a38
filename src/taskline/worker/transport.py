"""How a worker reaches the engine: over the HTTP API any language uses, or in-process.

`LocalTransport` wraps a `TaskService` (straight on Redis with `TASKLINE_REDIS_URL`, or inside
`taskline serve --workers`); `HttpTransport` speaks the poll/heartbeat/outcomes/release
routes and the worker registry's heartbeat and leave. The runner sees only this protocol, so both paths behave the same.
"""

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from taskline.client.api import ApiConnection
from taskline.core.outcomes import Completion, LeaseAsk, Outcome, Settlement
from taskline.core.task import HeartbeatAck, Lease
from taskline.core.workers import WorkerDetails, WorkerState
from taskline.service import TaskService
from taskline.wire import from_rfc3339, lease_from_json, settled_from_json


class Transport(Protocol):
    async def poll(
        self, *, worker_id: str, queues: Sequence[str] | None, types: Sequence[str] | None, wait_s: float, max: int
    ) -> list[Lease]: ...

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None) -> HeartbeatAck: ...

    async def settle(self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None) -> Settlement:
        """Report attempts' outcomes (each refused alone) and lease up to `then_lease.max` next tasks."""
        ...

    async def release(self, task_id: str, token: str) -> None: ...

    async def worker_heartbeat(self, worker_id: str, details: WorkerDetails) -> WorkerState:
        """Report this worker to the registry; the answer says whether it is paused."""
        ...

    async def worker_left(self, worker_id: str) -> None: ...

    async def close(self) -> None: ...


class LocalTransport:
    """The engine in this process; whoever built the service closes it."""

    def __init__(self, service: TaskService) -> None:
        self.service = service

    async def poll(
        self, *, worker_id: str, queues: Sequence[str] | None, types: Sequence[str] | None, wait_s: float, max: int
    ) -> list[Lease]:
        return await self.service.poll(worker_id=worker_id, queues=queues, types=types, wait_s=wait_s, max=max)

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None) -> HeartbeatAck:
        return await self.service.heartbeat(task_id, token, progress=progress)

    async def settle(self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None) -> Settlement:
        return await self.service.settle(outcomes, then_lease=then_lease)

    async def release(self, task_id: str, token: str) -> None:
        await self.service.release(task_id, token)

    async def worker_heartbeat(self, worker_id: str, details: WorkerDetails) -> WorkerState:
        return await self.service.worker_heartbeat(worker_id, details)

    async def worker_left(self, worker_id: str) -> None:
        await self.service.worker_left(worker_id)

    async def close(self) -> None:
        pass


class HttpTransport:
    """The worker routes of a Taskline server (SPEC §3, plus release and the worker heartbeat)."""

    def __init__(self, server: str, *, api_key: str | None = None, max_connections: int = 100) -> None:
        # Long polls hold a connection for up to a minute: the read timeout must outlast them.
        timeout = httpx.Timeout(10.0, read=90.0)
        self._api = ApiConnection(server, api_key=api_key, timeout=timeout, max_connections=max_connections)

    async def poll(
        self, *, worker_id: str, queues: Sequence[str] | None, types: Sequence[str] | None, wait_s: float, max: int
    ) -> list[Lease]:
        params = {
            "worker_id": worker_id,
            "wait": wait_s,
            "max": max,
            "queues": ",".join(queues) if queues else None,
            "types": ",".join(types) if types else None,
        }
        answer = await self._api.call("GET", "/api/v1/poll", params=params)
        return [] if answer is None else [lease_from_json(task) for task in answer["tasks"]]  # 204: nothing came

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None) -> HeartbeatAck:
        body: dict[str, Any] = {"token": token}
        if progress is not None:
            body["progress"] = progress
        ack = await self._api.call("POST", f"/api/v1/tasks/{task_id}/heartbeat", body=body)
        return HeartbeatAck(from_rfc3339(ack["expires_at"]) or 0.0, ack["cancel_requested"])

    async def settle(self, outcomes: Sequence[Outcome], *, then_lease: LeaseAsk | None) -> Settlement:
        body: dict[str, Any] = {"outcomes": [_outcome_json(outcome) for outcome in outcomes]}
        if then_lease is not None:
            body |= {"next": then_lease.max, "worker_id": then_lease.worker_id}
            body |= {name: list(value) for name in ("queues", "types") if (value := getattr(then_lease, name))}
        answer = await self._api.call("POST", "/api/v1/outcomes", body=body)
        settled = [settled_from_json(item) for item in answer["results"]]
        return Settlement(settled, [lease_from_json(task) for task in answer["tasks"]])

    async def release(self, task_id: str, token: str) -> None:
        await self._api.call("POST", f"/api/v1/tasks/{task_id}/release", body={"token": token})

    async def worker_heartbeat(self, worker_id: str, details: WorkerDetails) -> WorkerState:
        body = {name: value for name, value in asdict(details).items() if value is not None}
        answer = await self._api.call("POST", f"/api/v1/workers/{_segment(worker_id)}/heartbeat", body=body)
        return WorkerState(answer["state"])

    async def worker_left(self, worker_id: str) -> None:
        await self._api.call("DELETE", f"/api/v1/workers/{_segment(worker_id)}")

    async def close(self) -> None:
        await self._api.close()


def _segment(value: str) -> str:
    """`value` as one path segment: a worker id may hold `/`, `?`, `#` or spaces (the server's
    worker routes take a `/` in the id, encoded or not)."""
    return quote(value, safe="")


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    """One outcome as `/outcomes` takes it."""
    if isinstance(outcome, Completion):
        return {"id": outcome.task_id, "token": outcome.token, "result": outcome.result}
    body: dict[str, Any] = {"id": outcome.task_id, "token": outcome.token, "error": outcome.error}
    body["retry"] = outcome.retry
    if outcome.retry_after_s is not None:
        body["retry_after"] = outcome.retry_after_s
    return body
