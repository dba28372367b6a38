"""`Reader`: `AsyncClient.events()` consumed in a background task, for the client event tests."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from taskline import AsyncClient
from taskline.client import Event
from taskline.events.types import Lagged

Item = Event | Lagged


class Reader:
    """Everything one `events()` iterator yielded so far, in order."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self._changed = asyncio.Event()

    def add(self, item: Item) -> None:
        self.items.append(item)
        self._changed.set()

    async def until(self, done: Callable[[list[Item]], bool], timeout_s: float = 30) -> list[Item]:
        """The items once `done(items)` holds; AssertionError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not done(self.items):
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise AssertionError(f"timed out with {[describe(i) for i in self.items][-8:]}") from None
        return self.items

    def of(self, task_id: str) -> list[str]:
        """The names of the events of one task, in the order they were yielded."""
        return [i.name for i in self.items if isinstance(i, Event) and i.task is not None and i.task.id == task_id]


@asynccontextmanager
async def reading(client: AsyncClient, **filter: Any) -> AsyncIterator[Reader]:
    """Consume `client.events(**filter)` in the background for the duration of the block."""
    reader = Reader()

    async def consume() -> None:
        async for item in client.events(**filter):
            reader.add(item)

    task = asyncio.create_task(consume())
    try:
        yield reader
    finally:
        task.cancel()
        # Bounded: a consumer that ignores cancellation is a bug of events() to report, not to hang on.
        done, _ = await asyncio.wait({task}, timeout=10)
        assert done, "events() went on after its consumer was cancelled"
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def listening(reader: Reader, client: AsyncClient, queue: str) -> None:
    """Return once `reader` is subscribed: `events()` starts reading only when first iterated,
    and nothing else tells when that was, so submit markers until one of them comes through.
    The markers are scheduled an hour ahead so no worker leases them."""
    later = datetime.now(UTC) + timedelta(hours=1)
    deadline = time.monotonic() + 30
    while not reader.items:
        assert time.monotonic() < deadline, "the event stream never started"
        await client.submit("marker", queue=queue, scheduled_at=later)
        with contextlib.suppress(AssertionError):
            await reader.until(lambda items: bool(items), timeout_s=0.5)


def describe(item: Item) -> str:
    return item.name if isinstance(item, Lagged) or item.task is None else f"{item.name}:{item.task.type}"
