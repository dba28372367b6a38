"""In-process workers over a real backend, with a transport that tells the test each outcome."""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.outcomes import Completion, LeaseAsk, Settlement
from taskline.core.outcomes import Outcome as Report
from taskline.core.task import HeartbeatAck
from taskline.core.workers import WorkerDetails, WorkerState
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
        self.worker_states: asyncio.Queue[WorkerState] = asyncio.Queue()
        self.reports: list[tuple[int, int]] = []  # per report: outcomes sent, tasks leased with them

    async def heartbeat(self, task_id: str, token: str, *, progress: float | None) -> HeartbeatAck:
        ack = await super().heartbeat(task_id, token, progress=progress)
        if progress is not None:
            self.progress_sent.put_nowait(progress)
        return ack

    async def settle(self, outcomes: Sequence[Report], *, then_lease: LeaseAsk | None) -> Settlement:
        settlement = await super().settle(outcomes, then_lease=then_lease)
        self.reports.append((len(outcomes), len(settlement.leases)))
        for outcome, settled in zip(outcomes, settlement.settled, strict=True):
            if settled.refused is not None:
                continue  # the engine did not take it
            if isinstance(outcome, Completion):
                self.outcomes.put_nowait(Outcome("complete", outcome.task_id, {"result": outcome.result}))
            else:
                fields = {"error": outcome.error, "retry": outcome.retry}
                self.outcomes.put_nowait(Outcome("fail", outcome.task_id, fields))
        return settlement

    async def release(self, task_id: str, token: str) -> None:
        await super().release(task_id, token)
        self.outcomes.put_nowait(Outcome("release", task_id, {}))

    async def worker_heartbeat(self, worker_id: str, details: WorkerDetails) -> WorkerState:
        state = await super().worker_heartbeat(worker_id, details)
        self.worker_states.put_nowait(state)
        return state

    async def next_outcome(self, timeout_s: float = 10) -> Outcome:
        return await asyncio.wait_for(self.outcomes.get(), timeout_s)

    async def next_worker_state(self, timeout_s: float = 10) -> WorkerState:
        """The answer to the worker's next registry heartbeat (one comes about every second)."""
        return await asyncio.wait_for(self.worker_states.get(), timeout_s)


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
