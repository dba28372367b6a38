"""`taskline top`: a live view of a Taskline server, like `htop` for its tasks and workers.

Events from `/ws` (resumed with `since` after a drop, by the client) give the rates and say when
the counts have moved; the counts themselves are read (`stats`, `queues`, the workers and the
running tasks) at most once an `--interval`, when an event said they moved or every
`FULL_READ_S` anyway: a worker's heartbeat or retention's trimming is announced by no event.
Until the first event arrives, when the stream is refused, or with `--poll`, every interval is
a read and the rates come from the growth of the counts: a proxy that drops WebSockets looks
to the (ever reconnecting) stream like a quiet server, so no event yet means polling.
"""

import asyncio
import contextlib
import os
import sys
import termios
import time
import tty
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from taskline.cli.connection import ApiKeyOption, ServerOption, settings_for
from taskline.cli.following import closing, reached, run_command
from taskline.cli.top_view import Rates, Reading, Status, plain_line, screen
from taskline.client import AsyncClient
from taskline.client.events import Event
from taskline.config import Settings, mask_url
from taskline.core.states import TaskState
from taskline.core.workers import WorkerRecord
from taskline.errors import Forbidden, TasklineError, Unauthorized
from taskline.events.types import EventName

FULL_READ_S = 5.0
"""The longest the counts go unread while events are quiet."""

RUNNING_SHOWN = 200
"""Running tasks read per update, to tell what each worker runs."""

WATCHED = [n.value for n in EventName if n is not EventName.TASK_PROGRESS]
"""Every event but progress, which moves no count and can come many times a second."""


def top(
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between updates")] = 1.0,
    poll: Annotated[bool, typer.Option("--poll", help="Read the counts every interval; no event stream")] = False,
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many updates")] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """A live view of tasks per state, rates, queues and workers; q or Ctrl-C quits.

    Full screen on a terminal; one line of `key=value` counts per update otherwise.
    """
    settings = settings_for(server, api_key)
    run_command(_top(settings, interval=interval, poll=poll, count=count))


async def _top(settings: Settings, *, interval: float, poll: bool, count: int | None) -> None:
    async with reached(settings) as client:
        view = TopView(client, polling=poll)
        follower = None if poll else asyncio.create_task(view.follow())
        try:
            with keys_pressed(view.quit):
                if sys.stdout.isatty():
                    await view.show(interval, count)
                else:
                    await view.print_lines(interval, count)
        finally:
            if follower is not None:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
        if view.fatal is not None:
            raise view.fatal


class TopView:
    def __init__(self, client: AsyncClient, *, polling: bool) -> None:
        self.client = client
        self.polling = True
        # The header shows the server; a redis:// URL's password stays off the screen.
        source = "polling (--poll)" if polling else "polling (no event yet)"
        self.status = Status(server=mask_url(client.url), source=source)
        self.rates = Rates(time.monotonic())
        self.reading: Reading | None = None
        self.quit = asyncio.Event()
        self.fatal: TasklineError | None = None
        self._moved = True
        self._may_list_workers = True

    async def follow(self) -> None:
        """Count events into the rates, and mark the counts as moved, until cancelled."""
        try:
            async with closing(self.client.events(WATCHED)) as items:
                async for item in items:
                    self._moved = True
                    if self.polling:  # the first event: the stream works
                        self.polling = False
                        self.status.source = "events"
                        self.rates = Rates(time.monotonic())
                    if isinstance(item, Event):
                        self.rates.count(item.name, time.monotonic())
        except Unauthorized as exc:
            self.fatal = exc
            self.quit.set()
        except (TasklineError, ValueError, OSError) as exc:
            self.polling = True
            self.status.source = f"polling (event stream refused: {getattr(exc, 'message', exc)})"

    async def read(self) -> None:
        """Read the counts; a failure is shown in the header and the last reading kept."""
        try:
            stats = await self.client.stats()
            queues = await self.client.queues()
            workers = await self._workers()
            running = [t async for t in self.client.list(state=TaskState.RUNNING, limit=RUNNING_SHOWN)]
        except TasklineError as exc:
            self.status.problem = f"{exc.code}: {exc.message}"
            return
        self.status.problem = None
        self.reading = Reading(stats, queues, workers, running)
        self.rates.poll(self.reading)

    async def _workers(self) -> list[WorkerRecord] | None:
        if not self._may_list_workers:
            return None
        try:
            return await self.client.workers()
        except Forbidden:  # not an admin key: asked once, not every update
            self._may_list_workers = False
            return None

    async def updates(self, interval: float, count: int | None) -> AsyncIterator[None]:
        """One step per interval, after reading the counts if they are due; ends on `quit`."""
        done, last_read = 0, float("-inf")
        while not self.quit.is_set():
            if self.polling or self._moved or time.monotonic() - last_read >= FULL_READ_S:
                self._moved = False
                await self.read()
                last_read = time.monotonic()
            yield
            done += 1
            if count is not None and done >= count:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.quit.wait(), interval)

    def rates_now(self) -> tuple[float, float]:
        return self.rates.per_second(time.monotonic(), polling=self.polling)

    async def show(self, interval: float, count: int | None) -> None:
        with Live(console=Console(), screen=True, auto_refresh=False, redirect_stderr=False) as live:
            async for _ in self.updates(interval, count):
                live.update(screen(self.reading, *self.rates_now(), self.status), refresh=True)

    async def print_lines(self, interval: float, count: int | None) -> None:
        async for _ in self.updates(interval, count):
            if self.reading is not None:
                sys.stdout.write(plain_line(self.reading, *self.rates_now(), self.status) + "\n")
                sys.stdout.flush()


@contextlib.contextmanager
def keys_pressed(quit: asyncio.Event) -> Iterator[None]:
    """While inside, `q` typed on the terminal sets `quit` (keys are read one at a time, unechoed;
    Ctrl-C still interrupts). Without a terminal on stdin there is nothing to read."""
    fd = sys.stdin.fileno() if sys.stdin is not None else -1
    if fd < 0 or not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def on_key() -> None:
        if b"q" in os.read(fd, 64).lower():
            quit.set()

    tty.setcbreak(fd)
    loop.add_reader(fd, on_key)
    try:
        yield
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def register(app: typer.Typer) -> None:
    app.command()(top)
