"""In-process workers over a real backend, with a transport that tells the test each outcome."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.task import HeartbeatAck
from taskline.service import TaskService
from taskline.worker.app import App
from taskline.worker.runner import Worker
from taskline.worker.transport import LocalTransport


@dataclass(frozen=True)
class Outcome:
    kind: str  # complete | fail | release
    task_id: str
    fields: dict[str, Any]


class RecordingTransport(LocalTransport):
    """The real in-process transport; each outcome, once the engine took it, is also queued here."""

    def __init__(self, service: TaskService) -> None:
        super().__init__(service)
        self.outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self.progress_sent: asyncio.Queue[float] = asyncio.Queue()

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None) -> HeartbeatAck:
        ack = await super().heartbeat(task_id, token, progress=progress)
        if progress is not None:
            self.progress_sent.put_nowait(progress)
        return ack

    async def complete(self, task_id: str, token: str, *, result: Any) -> None:
        await super().complete(task_id, token, result=result)
        self.outcomes.put_nowait(Outcome("complete", task_id, {"result": result}))

    async def fail(
        self, task_id: str, token: str, *, error: str, retry: bool, retry_after_s: float | None = None
    ) -> None:
        await super().fail(task_id, token, error=error, retry=retry, retry_after_s=retry_after_s)
        self.outcomes.put_nowait(Outcome("fail", task_id, {"error": error, "retry": retry}))

    async def release(self, task_id: str, token: str) -> None:
        await super().release(task_id, token)
        self.outcomes.put_nowait(Outcome("release", task_id, {}))

    async def next_outcome(self, timeout_s: float = 10) -> Outcome:
        return await asyncio.wait_for(self.outcomes.get(), timeout_s)


@pytest.fixture
def service(backend: Backend, clock: FrozenClock) -> TaskService:
    return TaskService(backend, clock=clock)


@pytest.fixture
def transport(service: TaskService) -> RecordingTransport:
    return RecordingTransport(service)


RunWorker = Callable[..., Any]


@pytest.fixture
def run_worker(transport: RecordingTransport) -> RunWorker:
    """`async with run_worker(app, **options) as worker:` runs it until the block ends, then stops it."""

    @asynccontextmanager
    async def run(app: App, **options: Any) -> AsyncIterator[Worker]:
        worker = Worker(app, transport, **{"poll_wait_s": 5.0, "shutdown_timeout_s": 5.0, **options})
        running = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop()
            await asyncio.wait_for(running, 10)

    return run
