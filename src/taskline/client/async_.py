"""`AsyncClient`: the client on asyncio. `Client` (sync.py) is its blocking twin; what they
decide alike is in `policy`, what a request says in `protocol`."""

import asyncio
import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Any, Self, TypedDict, TypeVar, Unpack

from taskline.client.engine import Engine, kind_of, target
from taskline.client.events import Event
from taskline.client.http import HttpEngine
from taskline.client.local import LocalEngine
from taskline.client.policy import Paging, Waiting, retry_pause
from taskline.client.schedules import Schedule
from taskline.config import Settings
from taskline.core.sentinel import UNCHANGED
from taskline.core.states import TaskState
from taskline.core.task import QueueStats, Source, Stats, Task, TaskFilter, TaskPage
from taskline.core.workers import WorkerRecord
from taskline.errors import RetryLater, ValidationFailed
from taskline.events.filter import EventFilter
from taskline.events.types import Lagged

T = TypeVar("T")


class TaskOptions(TypedDict, total=False):
    """The optional fields of a submit (SPEC §1)."""

    queue: str
    priority: int | str
    delay: float
    scheduled_at: str | datetime
    max_retries: int
    timeout: float
    unique_key: str
    unique_ttl: int
    metadata: dict[str, Any]
    webhook: str


class ScheduleTaskOptions(TypedDict, total=False):
    """The optional fields of the task a schedule submits: a submit's, less `delay`,
    `scheduled_at`, `unique_key` and `unique_ttl`, which each tick sets itself."""

    queue: str
    priority: int | str
    max_retries: int
    timeout: float
    metadata: dict[str, Any]
    webhook: str


def open_engine(
    url: str, *, api_key: str | None, timeout_s: float, settings: Settings, max_connections: int = 100
) -> Engine:
    if kind_of(url) == "http":
        return HttpEngine(url, api_key=api_key, timeout_s=timeout_s, max_connections=max_connections)
    return LocalEngine(url, settings=settings)


class AsyncClient:
    """Submit, read and manage tasks, over the HTTP API or straight on Redis.

    Args:
        url: `http(s)://host:port` of a server, or `redis://…`; default `TASKLINE_SERVER`.
        api_key: sent as `Authorization: Bearer`; default `TASKLINE_API_KEY` (HTTP only).
        timeout: seconds one HTTP request may take.
        retries: how many times a 429 or 503-with-Retry-After is retried, after waiting as told.
        connections: HTTP connections open at once at most; more concurrent calls wait for one.

    `client.schedules` manages periodic schedules (`AsyncSchedules`).
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        settings: Settings | None = None,
        connections: int = 100,
    ) -> None:
        settings = settings or Settings()
        self.url, api_key = target(url, api_key, settings)
        self.retries = retries
        self._engine = open_engine(
            self.url, api_key=api_key, timeout_s=timeout, settings=settings, max_connections=connections
        )
        self.schedules = AsyncSchedules(self)

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T:
        """Run `request`, again after Retry-After when the server says to come back."""
        for attempt in range(self.retries + 1):
            try:
                return await request()
            except RetryLater as refused:
                pause = retry_pause(refused, attempt, self.retries)
                if pause is None:
                    raise
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def submit(
        self, type: str, payload: Any = None, *, idempotency_key: str | None = None, **options: Unpack[TaskOptions]
    ) -> Task:
        """Submit one task; with a `unique_key` or `idempotency_key` that hits, the existing task.

        `payload` None sends none (the server's default is `{}`).
        """
        spec = task_spec(type, payload, options)
        return await self._call(lambda: self._engine.submit(spec, idempotency_key))

    async def submit_many(self, specs: Iterable[Mapping[str, Any]]) -> builtins.list[Task]:
        """Submit 1-1000 task specs (dicts of SPEC §1 fields) all or nothing; tasks in input order."""
        items = [wire_spec(dict(spec)) for spec in specs]
        return await self._call(lambda: self._engine.submit_many(items))

    async def get(self, task_id: str) -> Task:
        return await self._call(lambda: self._engine.get(task_id))

    async def wait(self, task_id: str, *, timeout: float = 60.0, interval: float = 0.05) -> Task:  # noqa: ASYNC109
        """The task once it is completed, failed or cancelled.

        Raises:
            WaitTimeout: (a TimeoutError) it was not terminal within `timeout` seconds.
        """
        waiting = Waiting(timeout, interval)
        while True:
            task = await self.get(task_id)
            pause = waiting.pause(task)
            if pause is None:
                return task
            await asyncio.sleep(pause)

    async def list(
        self,
        *,
        state: TaskState | str | None = None,
        type: str | None = None,
        queue: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
        source: Source = "live",
    ) -> AsyncIterator[Task]:
        """Tasks newest first, following `next_cursor` page by page; `limit` caps how many in all.
        `source="history"` lists PostgreSQL history instead (the server needs TASKLINE_POSTGRES_URL)."""
        filter = task_filter(state, type, queue)
        async for task in self._pages(
            lambda size, cursor: self._engine.list_tasks(filter, size, cursor, source), limit, page_size
        ):
            yield task

    async def dlq(self, *, limit: int | None = None, page_size: int = 100) -> AsyncIterator[Task]:
        """Failed tasks, most recently failed first."""
        async for task in self._pages(self._engine.dlq, limit, page_size):
            yield task

    async def _pages(
        self, fetch: Callable[[int, str | None], Awaitable[TaskPage]], limit: int | None, page_size: int
    ) -> AsyncIterator[Task]:
        paging = Paging(limit, page_size)
        while (size := paging.next_size()) is not None:
            for task in paging.take(await self._call(partial(fetch, size, paging.cursor))):
                yield task

    async def cancel(self, task_id: str) -> Task:
        return await self._call(lambda: self._engine.cancel(task_id))

    async def retry(self, task_id: str, *, payload: Any = UNCHANGED) -> Task:
        """Re-run a failed or cancelled task, with a new `payload` if one is given."""
        return await self._call(lambda: self._engine.retry(task_id, payload))

    async def short_ids(self, ids: Sequence[str]) -> dict[str, str]:
        """Each task id's abbreviation: its shortest prefix (8 hex digits at least) that no other
        stored task's id starts with, which `get`, `cancel` and `retry` take in its place."""
        return await self._call(lambda: self._engine.short_ids(ids))

    async def stats(self) -> Stats:
        return await self._call(self._engine.stats)

    async def queues(self) -> builtins.list[QueueStats]:
        return await self._call(self._engine.queues)

    async def workers(self) -> builtins.list[WorkerRecord]:
        """The workers seen in the last minute, by id (`/admin/workers`: an admin key where keys are on)."""
        return await self._call(self._engine.workers)

    async def pause_queue(self, queue: str) -> None:
        await self._call(lambda: self._engine.pause_queue(queue))

    async def resume_queue(self, queue: str) -> None:
        await self._call(lambda: self._engine.resume_queue(queue))

    async def purge(self, queue: str, *, priority: int | str | None = None) -> int:
        """Delete the queue's pending tasks (of one priority, or all); returns how many."""
        return await self._call(lambda: self._engine.purge(queue, priority))

    async def dlq_retry(self, ids: Sequence[str] | None = None) -> int:
        """Retry the listed failed tasks (None: all); returns how many moved."""
        return await self._call(lambda: self._engine.dlq_retry(ids))

    async def dlq_clear(self) -> int:
        """Delete every failed task; returns how many."""
        return await self._call(self._engine.dlq_delete)

    async def events(
        self,
        types: Iterable[str] | None = None,
        *,
        queue: str | None = None,
        task_id: str | None = None,
        since: str | None = None,
    ) -> AsyncIterator[Event | Lagged]:
        """The live events (SPEC §3 `/ws`), forever: `async for event in client.events(): ...`.

        Yields `taskline.client.Event` (`id`, `name`, `ts`, and `task` as a summary without payload,
        result, metadata and errors, `worker`, or `schedule`: a `taskline.client.Schedule` whose
        `task` is a summary too) and `Lagged` notices (`name == "lagged"`)
        when events were dropped or are gone. A dropped connection is reopened by itself and
        resumed after the last event yielded; pass that event's `id` as `since` to resume later.

        Args:
            types: event names to receive (e.g. `["task.completed"]`); None: all.
            queue: only task events of this queue.
            task_id: only events of this task.
            since: start after this event id, replaying the ones still kept.

        Raises:
            ValidationFailed: an unknown event name, or `since` not an event id.
            Unauthorized: the server refused the API key.
        """
        try:
            filter = EventFilter.of(types, task_id=task_id, queue=queue)
        except ValueError as exc:
            raise ValidationFailed(str(exc), [{"field": "types", "message": str(exc)}]) from None
        async for item in self._engine.events(filter, since):
            yield item

    async def aclose(self) -> None:
        await self._engine.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class AsyncSchedules:
    """`AsyncClient.schedules`: periodic schedules, each submitting a task on every tick."""

    def __init__(self, client: AsyncClient) -> None:
        self._call = client._call
        self._engine = client._engine

    async def add(
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
        """Create schedule `name`, or replace its definition if it exists (its paused state,
        creation time and last run are kept; the next run is worked out again).

        Args:
            cron: five cron fields (`"0 2 * * *"`) or `@hourly`, `@daily`, `@weekly`, `@monthly`,
                `@yearly`; give this or `every`.
            every: seconds between runs (at least 1), or a `timedelta`.
            timezone: an IANA name the cron fields are read in; default UTC.
            type, payload, task_options: the task each run submits, as `submit` takes them.

        Raises:
            ValidationFailed: the definition or the task is invalid (the task's fields are
                named `task.<field>`); nothing is stored.
        """
        body = schedule_body(name, cron, every, timezone, task_spec(type, payload, task_options))
        return await self._call(lambda: self._engine.add_schedule(body))

    async def list(self) -> builtins.list[Schedule]:
        """Every schedule, by name."""
        return await self._call(self._engine.list_schedules)

    async def get(self, name: str) -> Schedule:
        """Raises `NotFound` when there is no such schedule (as `remove`, `pause` and `resume` do)."""
        return await self._call(lambda: self._engine.get_schedule(name))

    async def remove(self, name: str) -> None:
        """Delete the schedule; the tasks it already submitted stay."""
        await self._call(lambda: self._engine.remove_schedule(name))

    async def pause(self, name: str) -> Schedule:
        """Stop submitting until `resume` (pausing a paused schedule changes nothing)."""
        return await self._call(lambda: self._engine.pause_schedule(name))

    async def resume(self, name: str) -> Schedule:
        """Submit again, from the next tick after now: the ticks missed while paused are not made up."""
        return await self._call(lambda: self._engine.resume_schedule(name))


def schedule_body(
    name: str, cron: str | None, every: float | timedelta | None, timezone: str | None, task: dict[str, Any]
) -> dict[str, Any]:
    """The JSON of `POST /api/v1/schedules`; what is None is left out, for the server to judge."""
    if isinstance(every, timedelta):
        every = every.total_seconds()
    fields = {"name": name, "cron": cron, "every": every, "timezone": timezone}
    return {**{key: value for key, value in fields.items() if value is not None}, "task": task}


def task_spec(type: str, payload: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of a submit: `type`, the payload if given, and the options as the API spells them."""
    spec = {"type": type, **({"payload": payload} if payload is not None else {}), **options}
    return wire_spec(spec)


def wire_spec(spec: dict[str, Any]) -> dict[str, Any]:
    scheduled_at = spec.get("scheduled_at")
    if isinstance(scheduled_at, datetime):
        if scheduled_at.tzinfo is None:
            raise ValueError("scheduled_at needs a time zone (a naive datetime is ambiguous)")
        spec["scheduled_at"] = scheduled_at.isoformat()
    return spec


def task_filter(state: TaskState | str | None, type: str | None, queue: str | None) -> TaskFilter:
    """The filter of a listing; an unknown state is refused as the API would."""
    if state is None:
        return TaskFilter(type=type, queue=queue)
    try:
        return TaskFilter(state=TaskState(state), type=type, queue=queue)
    except ValueError:
        names = ", ".join(TaskState)
        raise ValidationFailed(
            f"{state!r} is not a state", [{"field": "state", "message": f"must be one of {names}"}]
        ) from None
