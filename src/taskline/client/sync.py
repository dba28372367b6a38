"""`Client`: the blocking client, `AsyncClient` driven on an event loop of its own.

The loop runs in a private thread so a `Client` works anywhere, inside a running event loop
(a notebook, an async web app) too, and every connection it opens stays on that one loop.
"""

import asyncio
import builtins
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from taskline.client.async_ import AsyncClient
from taskline.config import Settings
from taskline.core.states import TaskState
from taskline.core.task import Task

P = ParamSpec("P")
T = TypeVar("T")


def _blocking(
    method: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate["Client", P], T]:
    """The blocking twin of an `AsyncClient` method: same parameters, same docstring."""

    def call(client: "Client", /, *args: P.args, **kwargs: P.kwargs) -> T:
        return client._run(method(client._async, *args, **kwargs))

    call.__name__, call.__qualname__, call.__doc__ = method.__name__, f"Client.{method.__name__}", method.__doc__
    return call


class Client:
    """Submit, read and manage tasks, blocking; the arguments are `AsyncClient`'s."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        settings: Settings | None = None,
    ) -> None:
        self._async = AsyncClient(url, api_key, timeout=timeout, retries=retries, settings=settings)
        self.url = self._async.url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="taskline-client", daemon=True)
        self._thread.start()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coroutine.close()
            raise RuntimeError("this Client is closed")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    submit = _blocking(AsyncClient.submit)
    submit_many = _blocking(AsyncClient.submit_many)
    get = _blocking(AsyncClient.get)
    wait = _blocking(AsyncClient.wait)
    cancel = _blocking(AsyncClient.cancel)
    retry = _blocking(AsyncClient.retry)
    stats = _blocking(AsyncClient.stats)
    queues = _blocking(AsyncClient.queues)
    pause_queue = _blocking(AsyncClient.pause_queue)
    resume_queue = _blocking(AsyncClient.resume_queue)
    purge = _blocking(AsyncClient.purge)
    dlq_retry = _blocking(AsyncClient.dlq_retry)
    dlq_clear = _blocking(AsyncClient.dlq_clear)

    def list(
        self,
        *,
        state: TaskState | str | None = None,
        type: str | None = None,
        queue: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Iterator[Task]:
        """Tasks newest first, following `next_cursor` page by page; `limit` caps how many in all."""
        return self._iterate(self._async.list(state=state, type=type, queue=queue, limit=limit, page_size=page_size))

    def dlq(self, *, limit: int | None = None, page_size: int = 100) -> Iterator[Task]:
        """Failed tasks, most recently failed first."""
        return self._iterate(self._async.dlq(limit=limit, page_size=page_size))

    def _iterate(self, tasks: AsyncIterator[Task]) -> Iterator[Task]:
        async def step() -> builtins.list[Task]:
            try:
                return [await anext(tasks)]
            except StopAsyncIteration:
                return []

        while batch := self._run(step()):
            yield from batch

    def close(self) -> None:
        """Close the connections and stop the client's loop; safe to call twice."""
        if self._loop.is_closed():
            return
        try:
            self._run(self._async.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
