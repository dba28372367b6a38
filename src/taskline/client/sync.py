"""`Client`: the blocking client, on blocking connections of its own.

Over HTTP every call is a request on an http.client keep-alive connection; straight on Redis
the calls a producer makes in a loop (submit, submit_many, get, wait, cancel, retry) run on
redis-py's blocking client. No call hops to another thread, so a `Client` works anywhere: in
plain scripts, in several threads at once (each call takes a connection of its own), and
inside a running event loop (a notebook, an async web app's sync helper), where a call blocks
the loop for as long as it takes, as any blocking I/O does.
"""

import builtins
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

from taskline.client.async_ import (
    AsyncClient,
    AsyncSchedules,
    ScheduleTaskOptions,
    TaskOptions,
    schedule_body,
    task_filter,
    task_spec,
    wire_spec,
)
from taskline.client.blocking_redis import BlockingRedisEngine
from taskline.client.engine import BlockingEngine, kind_of, target
from taskline.client.http import BlockingHttpEngine
from taskline.client.policy import Paging, Waiting, retry_pause
from taskline.client.schedules import Schedule
from taskline.config import Settings
from taskline.core.sentinel import UNCHANGED
from taskline.core.states import TaskState
from taskline.core.task import QueueStats, Source, Stats, Task, TaskPage
from taskline.errors import RetryLater

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def open_blocking_engine(url: str, *, api_key: str | None, timeout_s: float, settings: Settings) -> BlockingEngine:
    if kind_of(url) == "http":
        return BlockingHttpEngine(url, api_key=api_key, timeout_s=timeout_s)
    return BlockingRedisEngine(url, timeout_s=timeout_s, settings=settings)


def _documented_as(twin: Callable[..., Any]) -> Callable[[F], F]:
    """Give a blocking method its `AsyncClient` twin's docstring: one text for both."""

    def document(method: F) -> F:
        method.__doc__ = twin.__doc__
        return method

    return document


class Client:
    """Submit, read and manage tasks, blocking; the arguments are `AsyncClient`'s.

    `client.schedules` manages periodic schedules (`Schedules`).
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or Settings()
        self.url, api_key = target(url, api_key, settings)
        self.retries = retries
        self._engine = open_blocking_engine(self.url, api_key=api_key, timeout_s=timeout, settings=settings)
        self._closed = False
        self.schedules = Schedules(self)

    def _call(self, request: Callable[[], T]) -> T:
        """Run `request`, again after Retry-After when the server says to come back."""
        if self._closed:
            raise RuntimeError("this Client is closed")
        for attempt in range(self.retries + 1):
            try:
                return request()
            except RetryLater as refused:
                pause = retry_pause(refused, attempt, self.retries)
                if pause is None:
                    raise
                time.sleep(pause)
        raise AssertionError("unreachable")

    @_documented_as(AsyncClient.submit)
    def submit(
        self, type: str, payload: Any = None, *, idempotency_key: str | None = None, **options: Unpack[TaskOptions]
    ) -> Task:
        spec = task_spec(type, payload, options)
        return self._call(lambda: self._engine.submit(spec, idempotency_key))

    @_documented_as(AsyncClient.submit_many)
    def submit_many(self, specs: Iterable[Mapping[str, Any]]) -> builtins.list[Task]:
        items = [wire_spec(dict(spec)) for spec in specs]
        return self._call(lambda: self._engine.submit_many(items))

    def get(self, task_id: str) -> Task:
        return self._call(lambda: self._engine.get(task_id))

    @_documented_as(AsyncClient.wait)
    def wait(self, task_id: str, *, timeout: float = 60.0, interval: float = 0.05) -> Task:
        waiting = Waiting(timeout, interval)
        while True:
            task = self.get(task_id)
            pause = waiting.pause(task)
            if pause is None:
                return task
            time.sleep(pause)

    @_documented_as(AsyncClient.list)
    def list(
        self,
        *,
        state: TaskState | str | None = None,
        type: str | None = None,
        queue: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
        source: Source = "live",
    ) -> Iterator[Task]:
        filter = task_filter(state, type, queue)
        return self._pages(lambda size, cursor: self._engine.list_tasks(filter, size, cursor, source), limit, page_size)

    @_documented_as(AsyncClient.dlq)
    def dlq(self, *, limit: int | None = None, page_size: int = 100) -> Iterator[Task]:
        return self._pages(self._engine.dlq, limit, page_size)

    def _pages(self, fetch: Callable[[int, str | None], TaskPage], limit: int | None, page_size: int) -> Iterator[Task]:
        paging = Paging(limit, page_size)
        while (size := paging.next_size()) is not None:
            cursor = paging.cursor
            yield from paging.take(self._call(lambda: fetch(size, cursor)))  # noqa: B023 (called at once)

    def cancel(self, task_id: str) -> Task:
        return self._call(lambda: self._engine.cancel(task_id))

    @_documented_as(AsyncClient.retry)
    def retry(self, task_id: str, *, payload: Any = UNCHANGED) -> Task:
        return self._call(lambda: self._engine.retry(task_id, payload))

    def stats(self) -> Stats:
        return self._call(self._engine.stats)

    def queues(self) -> builtins.list[QueueStats]:
        return self._call(self._engine.queues)

    def pause_queue(self, queue: str) -> None:
        self._call(lambda: self._engine.pause_queue(queue))

    def resume_queue(self, queue: str) -> None:
        self._call(lambda: self._engine.resume_queue(queue))

    @_documented_as(AsyncClient.purge)
    def purge(self, queue: str, *, priority: int | str | None = None) -> int:
        return self._call(lambda: self._engine.purge(queue, priority))

    @_documented_as(AsyncClient.dlq_retry)
    def dlq_retry(self, ids: Sequence[str] | None = None) -> int:
        return self._call(lambda: self._engine.dlq_retry(ids))

    @_documented_as(AsyncClient.dlq_clear)
    def dlq_clear(self) -> int:
        return self._call(self._engine.dlq_delete)

    def close(self) -> None:
        """Close the connections; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Schedules:
    """`Client.schedules`: `AsyncSchedules`, blocking."""

    def __init__(self, client: Client) -> None:
        self._call = client._call
        self._engine = client._engine

    @_documented_as(AsyncSchedules.add)
    def add(
        self,
        name: str,
        *,
        cron: str | None = None,
        every: float | timedelta | None = None,
        timezone: str | None = None,
        type: str,
        payload: Any = None,
        **task_options: Unpack[ScheduleTaskOptions],
    ) -> Schedule:
        body = schedule_body(name, cron, every, timezone, task_spec(type, payload, task_options))
        return self._call(lambda: self._engine.add_schedule(body))

    @_documented_as(AsyncSchedules.list)
    def list(self) -> builtins.list[Schedule]:
        return self._call(self._engine.list_schedules)

    @_documented_as(AsyncSchedules.get)
    def get(self, name: str) -> Schedule:
        return self._call(lambda: self._engine.get_schedule(name))

    @_documented_as(AsyncSchedules.remove)
    def remove(self, name: str) -> None:
        self._call(lambda: self._engine.remove_schedule(name))

    @_documented_as(AsyncSchedules.pause)
    def pause(self, name: str) -> Schedule:
        return self._call(lambda: self._engine.pause_schedule(name))

    @_documented_as(AsyncSchedules.resume)
    def resume(self, name: str) -> Schedule:
        return self._call(lambda: self._engine.resume_schedule(name))
