"""The one place that builds a running Taskline server.

`Server` opens the backend and the `TaskService` over it, then starts the long-lived parts
that run beside the API (the scheduler loop, the event hub behind `/ws`, the webhook
dispatcher, the built-in worker of `serve --workers N`, the history archiver), and stops them in reverse order
before closing the backend. The API only assembles routes
around the service this hands it; `taskline serve` and `taskline worker` on Redis run one.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from taskline.backends.base import Backend
from taskline.backends.factory import open_backend
from taskline.config import Settings
from taskline.core.backoff import Backoff
from taskline.core.clock import Clock, SystemClock
from taskline.errors import BackendUnavailable, TasklineError
from taskline.events.hub import EventHub
from taskline.maintenance.scheduler import Scheduler
from taskline.service import TaskService
from taskline.webhooks.dispatcher import Dispatcher, WebhookSettings
from taskline.worker.app import App
from taskline.worker.builtin import builtin_handlers
from taskline.worker.runner import Worker
from taskline.worker.transport import LocalTransport

if TYPE_CHECKING:
    from taskline.history.archiver import Archiver

log = logging.getLogger("taskline")

# Waits between tries to reach a Redis that does not answer at start: 0.2 s doubling to 5 s. A
# server started with (or just before) its Redis comes up with it.
START_RETRY = Backoff(base_s=0.2, cap_s=5.0)


@dataclass(frozen=True, slots=True)
class Part:
    """A long-lived part of a running server: `run()` works until it returns.

    `stop()` asks it to finish (it may first end what it holds, as the worker does); a part
    without one is cancelled instead, so its every await must be safe to cancel.
    """

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    stop: Callable[[], None] | None = None


def built_in_worker(settings: Settings, service: TaskService) -> Worker | None:
    """`serve --workers N`: the built-in handlers run in this process, up to N at once."""
    if settings.workers == 0:
        return None
    app = App().with_builtins(builtin_handlers(settings))
    return Worker(
        app, LocalTransport(service), concurrency=settings.workers, shutdown_timeout_s=settings.shutdown_timeout
    )


def webhook_settings(settings: Settings) -> WebhookSettings:
    """TASKLINE_WEBHOOK_* and the task backoff, as the dispatcher takes them."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return WebhookSettings(
        secret=secret or None,
        max_attempts=settings.webhook_max_attempts,
        allow_private=settings.webhook_allow_private,
        backoff=settings.engine_config().backoff,
    )


class Server:
    """A running Taskline: `async with Server(settings) as server:` then `server.service`.

    Pass `backend` to share one already open: it is then not closed here. `api=False` is a
    process that serves no API (`taskline worker` on Redis): it needs no event hub. A Redis
    that does not answer at start is waited for (as Celery waits for its broker) until
    `closing` returns, if given: the shutdown of the process that runs this server.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        backend: Backend | None = None,
        clock: Clock | None = None,
        api: bool = True,
        closing: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.api = api
        self._closing = closing
        self.clock = clock or SystemClock()
        self._backend = backend
        self._owns_backend = backend is None
        self._service: TaskService | None = None
        self._running: list[tuple[Part, asyncio.Task[None]]] = []
        self._hub: EventHub | None = None
        self.archiver: Archiver | None = None

    @property
    def service(self) -> TaskService:
        if self._service is None:
            raise RuntimeError("the server is not started")
        return self._service

    @property
    def hub(self) -> EventHub:
        """The event fan-out of this process, which `/ws` subscribes to."""
        if self._hub is None:
            raise RuntimeError("the server is not started")
        return self._hub

    def parts(self, backend: Backend, service: TaskService) -> list[Part]:
        """The long-lived parts, in the order they start; they stop in reverse. A new part
        (say an event hub, a metrics collector) is one more entry here."""
        parts = [Part("scheduler", Scheduler(backend, self.clock).run)]
        if self.api:
            self._hub = EventHub(service)
            parts.append(Part("event hub", self._hub.run, self._hub.stop))
        parts.append(Part("webhooks", Dispatcher(service, webhook_settings(self.settings)).run))
        if service.history_store is not None and self.api:
            # In API servers only (`taskline serve`): a `taskline worker` on Redis would only
            # repeat the work of the servers' archivers.
            from taskline.history.archiver import Archiver  # only with history on: worker processes never load it

            self.archiver = Archiver(backend, service.history_store)
            parts.append(Part("archiver", self.archiver.run))
        if (worker := built_in_worker(self.settings, service)) is not None:
            parts.append(Part("worker", worker.run, worker.stop))
        return parts

    async def start(self) -> TaskService:
        """Open the backend (unless given), then start every part; on failure undo what began.

        Raises:
            BackendUnavailable: the backend refused to open, or did not answer before `closing`.
        """
        if self._backend is None:
            self._backend = await self._open_backend()
        try:
            # History (reads, and the archiver's pool) in API servers: a worker process ends
            # tasks through the live backend alone and need not have asyncpg.
            self._service = TaskService.over(self._backend, self.settings, clock=self.clock, history=self.api)
        except BaseException:
            if self._owns_backend:
                await self._backend.close()
                self._backend = None
            raise
        try:
            if (warning := await self._service.durability_warning()) is not None:
                log.warning("%s", warning)
            if self.api and self._service.history_store is None:
                await self._warn_of_unarchived(self._service)
            for part in self.parts(self._backend, self._service):
                task = asyncio.create_task(part.run(), name=f"taskline-{part.name}")
                task.add_done_callback(_report_early_end)
                self._running.append((part, task))
        except BaseException:
            await self.stop()
            raise
        return self._service

    async def _open_backend(self) -> Backend:
        """The backend, once it answers: a Redis restarting as this server starts (a machine
        booting, a supervisor restarting both) is waited for; one that answers "no" is not."""
        from taskline.backends.redis.failures import unreachable

        redis_url = self.settings.redis_url.get_secret_value() if self.settings.redis_url else None
        tries = 0
        while True:
            tries += 1
            try:
                return await open_backend(
                    redis_url=redis_url,
                    sqlite_path=self.settings.sqlite_path,
                    config=self.settings.engine_config(),
                    clock=self.clock,
                )
            except BackendUnavailable as exc:
                if not unreachable(exc):
                    raise
                wait_s = START_RETRY.ceiling_s(tries)
                log.warning("%s; trying again in %.1f s", exc.message, wait_s)
                if await self._closes_within(wait_s):
                    raise

    async def _closes_within(self, seconds: float) -> bool:
        if self._closing is None:
            await asyncio.sleep(seconds)
            return False
        try:
            await asyncio.wait_for(self._closing(), seconds)
        except TimeoutError:
            return False
        return True

    @staticmethod
    async def _warn_of_unarchived(service: TaskService) -> None:
        """Say so when ends wait in the archive outbox and this server will not copy them."""
        try:
            backlog = await service.archive_backlog()
        except TasklineError:
            return  # the store not answering is reported by whatever needs it next
        if backlog.depth:
            log.warning(
                "%d task ends wait in the PostgreSQL history outbox and this server does not archive them "
                "(TASKLINE_POSTGRES_URL is not set here): a server with it copies them; until one runs, "
                "the outbox grows",
                backlog.depth,
            )

    async def stop(self) -> None:
        """Stop the parts, last started first, each finishing before the next is asked; then
        close the backend if it was opened here."""
        while self._running:
            part, task = self._running.pop()
            task.remove_done_callback(_report_early_end)
            if part.stop is None:
                task.cancel()
            else:
                part.stop()
            (ended,) = await asyncio.gather(task, return_exceptions=True)
            if isinstance(ended, Exception):  # shut down the rest all the same
                log.error("the %s had stopped: %r", part.name, ended)
        self.archiver = None
        if self._service is not None:
            await self._service.close_history()  # the service's, even over a backend shared
            if self._owns_backend:
                await self._service.close()
        self._service = None
        if self._owns_backend:
            self._backend = None

    async def __aenter__(self) -> "Server":
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()


def _report_early_end(task: "asyncio.Task[None]") -> None:
    """A part that ends before it is stopped is a fault worth a line in the log at once."""
    if task.cancelled():
        return
    if (error := task.exception()) is not None:
        log.error("%s ended early: %r", task.get_name(), error, exc_info=error)
    else:
        log.warning("%s ended before the server stopped", task.get_name())
