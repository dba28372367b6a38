"""The seam under both clients: one `Engine` protocol, spoken over HTTP or straight to the store."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from taskline.core.states import TaskState
from taskline.core.task import QueueStats, Task, TaskFilter, TaskPage


@dataclass(slots=True, frozen=True)
class Stats:
    """`GET /api/v1/stats`: tasks per state (every state present), their total, live workers."""

    states: dict[TaskState, int]
    total: int
    workers: int


class Engine(Protocol):
    """What a client can ask of Taskline; each call is one API request (or one service call)."""

    async def submit(self, spec: dict[str, Any], idempotency_key: str | None) -> Task: ...

    async def submit_many(self, specs: list[dict[str, Any]]) -> list[Task]: ...

    async def get(self, task_id: str) -> Task: ...

    async def list_tasks(self, filter: TaskFilter, limit: int, cursor: str | None) -> TaskPage: ...

    async def cancel(self, task_id: str) -> Task: ...

    async def retry(self, task_id: str, payload: Any) -> Task:
        """`payload` is `UNCHANGED` to keep the task's own."""
        ...

    async def stats(self) -> Stats: ...

    async def queues(self) -> list[QueueStats]: ...

    async def pause_queue(self, queue: str) -> None: ...

    async def resume_queue(self, queue: str) -> None: ...

    async def purge(self, queue: str, priority: int | str | None) -> int: ...

    async def dlq(self, limit: int, cursor: str | None) -> TaskPage: ...

    async def dlq_retry(self, ids: Sequence[str] | None) -> int: ...

    async def dlq_delete(self) -> int: ...

    async def close(self) -> None: ...
