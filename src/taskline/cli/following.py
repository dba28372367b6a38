"""What `taskline top` and `taskline tail` share: an `AsyncClient` that has answered once, and
running a command's coroutine until it ends, the person stops it, or the reader of a pipe goes."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import typer

from taskline.cli.connection import reporting_errors
from taskline.client import AsyncClient
from taskline.config import Settings

T = TypeVar("T")


@asynccontextmanager
async def reached(settings: Settings) -> AsyncIterator[AsyncClient]:
    """A client whose server has answered a read with this key.

    The event stream reconnects by itself, so it alone would wait forever on a server that is
    not there; one read first makes an unreachable server or a refused key end the command.
    `retries=0`: a 429 or 503 is shown at once, not waited out behind a blank screen.
    """
    async with AsyncClient(settings=settings, retries=0) as client:
        await client.stats()
        yield client


@asynccontextmanager
async def closing(stream: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """`stream`, closed on the way out: `events()` is an async generator, and one left to the
    garbage collector after an error closes its socket from another task, noisily."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def run_command(command: Coroutine[Any, Any, None]) -> None:
    """Run `command`; Ctrl-C ends it with exit 0 (the way to stop a follower), an error with
    its code and message and exit 1, a closed pipe (`| head`) quietly."""
    try:
        with reporting_errors():
            try:
                asyncio.run(command)
            except BrokenPipeError:  # an OSError, which reporting_errors would report
                # The reader left: point stdout at nothing, so the interpreter's own flush at
                # exit does not fail again on the closed pipe.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
