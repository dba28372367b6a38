"""Ending long polls early: when the server begins to shut down, or their client has gone.

Without this a SIGTERM waits out every poll in flight (up to a minute), and a poll whose
client vanished keeps looking for work nobody will receive.
"""

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request

T = TypeVar("T")


class Closing:
    """Set once the server is shutting down; `begin()` is safe from a signal handler."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self) -> None:
        """Attach to the running loop (the app's lifespan does this at start)."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def begin(self) -> None:
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        if self._event is None:
            await asyncio.Event().wait()  # never bound: never closing
        else:
            await self._event.wait()


async def unless_abandoned(request: Request, closing: Closing, work: Awaitable[T], default: T) -> T:
    """`work`'s result, or `default` once the client disconnects or the server begins closing
    (then `work` is cancelled, and must leave nothing behind when it is)."""
    working = asyncio.ensure_future(work)
    watchers = {asyncio.ensure_future(closing.wait()), asyncio.ensure_future(_disconnected(request))}
    try:
        await asyncio.wait({working, *watchers}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for watcher in watchers:
            watcher.cancel()
        if not working.done():  # abandoned, or this request itself cancelled (a forced shutdown)
            working.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await working
    return working.result() if not working.cancelled() else default


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
