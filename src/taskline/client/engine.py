"""The seam under both clients: one `Engine` protocol, spoken over HTTP or straight to the store."""

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from taskline.core.task import QueueStats, Source, Stats, Task, TaskFilter, TaskPage
from taskline.events.filter import EventFilter
from taskline.events.types import Event, Lagged

if TYPE_CHECKING:
    from taskline.config import Settings


def target(url: str | None, api_key: str | None, settings: "Settings") -> tuple[str, str | None]:
    """The URL and API key a client uses: its arguments, else `TASKLINE_SERVER` / `TASKLINE_API_KEY`."""
    if api_key is None and settings.api_key is not None:
        api_key = settings.api_key.get_secret_value()
    return url or settings.server, api_key


def kind_of(url: str) -> Literal["http", "store"]:
    """`http(s)://` is the API server; `redis(s)://` is the store itself."""
    scheme = url.partition("://")[0].lower()
    if scheme in ("http", "https"):
        return "http"
    if scheme in ("redis", "rediss", "unix"):
        return "store"
    raise ValueError(f"a Taskline URL is http(s):// (the API) or redis(s):// (the store), not {url!r}")


class Engine(Protocol):
    """What a client can ask of Taskline; each call is one API request (or one service call)."""

    async def submit(self, spec: dict[str, Any], idempotency_key: str | None) -> Task: ...

    async def submit_many(self, specs: list[dict[str, Any]]) -> list[Task]: ...

    async def get(self, task_id: str) -> Task: ...

    async def list_tasks(
        self, filter: TaskFilter, limit: int, cursor: str | None, source: Source = "live"
    ) -> TaskPage: ...

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

    def events(self, filter: EventFilter, since: str | None) -> AsyncIterator[Event | Lagged]:
        """The live event stream from `since` (None: from now), resumed by itself after a drop."""
        ...

    async def close(self) -> None: ...


class BlockingEngine(Protocol):
    """`Engine`'s calls as the blocking `Client` makes them (no event stream)."""

    def submit(self, spec: dict[str, Any], idempotency_key: str | None) -> Task: ...

    def submit_many(self, specs: list[dict[str, Any]]) -> list[Task]: ...

    def get(self, task_id: str) -> Task: ...

    def list_tasks(self, filter: TaskFilter, limit: int, cursor: str | None, source: Source = "live") -> TaskPage: ...

    def cancel(self, task_id: str) -> Task: ...

    def retry(self, task_id: str, payload: Any) -> Task: ...

    def stats(self) -> Stats: ...

    def queues(self) -> list[QueueStats]: ...

    def pause_queue(self, queue: str) -> None: ...

    def resume_queue(self, queue: str) -> None: ...

    def purge(self, queue: str, priority: int | str | None) -> int: ...

    def dlq(self, limit: int, cursor: str | None) -> TaskPage: ...

    def dlq_retry(self, ids: Sequence[str] | None) -> int: ...

    def dlq_delete(self) -> int: ...

    def close(self) -> None: ...
