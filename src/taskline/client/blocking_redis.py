"""`BlockingRedisEngine`: the blocking client's calls straight on Redis (`redis://` URLs)."""

from collections.abc import Sequence
from typing import Any

from taskline.client.bridge import LoopThread
from taskline.client.local import LocalEngine
from taskline.config import Settings
from taskline.core.task import QueueStats, Stats, Task, TaskFilter, TaskPage


class BlockingRedisEngine:
    def __init__(self, redis_url: str, *, settings: Settings) -> None:
        self._loop = LoopThread()
        self._local = LocalEngine(redis_url, settings=settings)

    def submit(self, spec: dict[str, Any], idempotency_key: str | None) -> Task:
        return self._loop.run(self._local.submit(spec, idempotency_key))

    def submit_many(self, specs: list[dict[str, Any]]) -> list[Task]:
        return self._loop.run(self._local.submit_many(specs))

    def get(self, task_id: str) -> Task:
        return self._loop.run(self._local.get(task_id))

    def cancel(self, task_id: str) -> Task:
        return self._loop.run(self._local.cancel(task_id))

    def retry(self, task_id: str, payload: Any) -> Task:
        return self._loop.run(self._local.retry(task_id, payload))

    # Reads and admin, not what a producer calls in a loop: through the async service on a
    # loop thread, started the first time one of them is called.

    def list_tasks(self, filter: TaskFilter, limit: int, cursor: str | None) -> TaskPage:
        return self._loop.run(self._local.list_tasks(filter, limit, cursor))

    def stats(self) -> Stats:
        return self._loop.run(self._local.stats())

    def queues(self) -> list[QueueStats]:
        return self._loop.run(self._local.queues())

    def pause_queue(self, queue: str) -> None:
        self._loop.run(self._local.pause_queue(queue))

    def resume_queue(self, queue: str) -> None:
        self._loop.run(self._local.resume_queue(queue))

    def purge(self, queue: str, priority: int | str | None) -> int:
        return self._loop.run(self._local.purge(queue, priority))

    def dlq(self, limit: int, cursor: str | None) -> TaskPage:
        return self._loop.run(self._local.dlq(limit, cursor))

    def dlq_retry(self, ids: Sequence[str] | None) -> int:
        return self._loop.run(self._local.dlq_retry(ids))

    def dlq_delete(self) -> int:
        return self._loop.run(self._local.dlq_delete())

    def close(self) -> None:
        if self._loop.started:
            try:
                self._loop.run(self._local.close())
            finally:
                self._loop.stop()
