"""The Python worker in the worker registry, in-process over both backends: it registers with
its details, stops taking tasks when paused (finishing what it runs), resumes, and leaves."""

import asyncio
import os
import socket
from typing import Any

from taskline.core.states import TaskState
from taskline.core.workers import WorkerState
from taskline.service import TaskService
from taskline.worker.app import App
from taskline.worker.runner import WeightedQueue
from tests.integration.worker.conftest import RecordingTransport, RunWorker


async def submit(service: TaskService, type: str, **fields: Any) -> str:
    return (await service.submit({"type": type, **fields})).task.id


def gated_app(gate: asyncio.Event) -> App:
    app = App(builtins=False)

    @app.task("quick")
    async def quick(payload: Any) -> str:
        return "done"

    @app.task("gated")
    async def gated(payload: Any) -> str:
        await gate.wait()
        return "through"

    return app


async def test_a_worker_registers_with_its_details_and_leaves_on_stop(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = gated_app(asyncio.Event())
    queues = [WeightedQueue("high", 3), WeightedQueue("default")]
    async with run_worker(app, concurrency=4, queues=queues) as worker:
        assert await transport.next_worker_state() is WorkerState.ACTIVE
        (listed,) = await service.workers()
        await submit(service, "quick", queue="high")
        await transport.next_outcome()
        while (await service.worker(worker.worker_id)).processed < 1:
            await transport.next_worker_state()  # the count arrives with a later heartbeat

    assert (listed.id, listed.host, listed.pid) == (worker.worker_id, socket.gethostname(), os.getpid())
    assert (listed.queues, listed.types, listed.concurrency) == (["high", "default"], ["gated", "quick"], 4)
    assert (listed.active, listed.processed, listed.failed, listed.state) == (0, 0, 0, WorkerState.ACTIVE)
    assert await service.workers() == []  # it said it left


async def test_a_paused_worker_finishes_its_task_takes_no_new_one_and_resumes(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    gate = asyncio.Event()
    running = await submit(service, "gated")
    async with run_worker(gated_app(gate)) as worker:
        await transport.next_worker_state()
        while (await service.get(running)).state is not TaskState.RUNNING:
            await transport.next_worker_state()

        await service.pause_worker(worker.worker_id)
        while await transport.next_worker_state() is not WorkerState.PAUSED:
            pass
        waiting = await submit(service, "quick")
        gate.set()
        finished = await transport.next_outcome()
        # Two more heartbeats: the worker had a second and more to take the new task, and did not.
        await transport.next_worker_state()
        await transport.next_worker_state()
        still = await service.get(waiting)

        await service.resume_worker(worker.worker_id)
        resumed = await transport.next_outcome()
        while await transport.next_worker_state() is not WorkerState.ACTIVE:
            pass

    assert worker.presence.paused is False
    assert (finished.task_id, finished.fields["result"]) == (running, "through")
    assert still.state is TaskState.PENDING
    assert (resumed.kind, resumed.task_id) == ("complete", waiting)


async def test_a_worker_paused_before_it_starts_takes_nothing(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    await service.poll(worker_id="known", queues=None, types=None, wait_s=0, max=1)  # registers it
    await service.pause_worker("known")
    task_id = await submit(service, "quick")

    async with run_worker(gated_app(asyncio.Event()), worker_id="known") as worker:
        assert await transport.next_worker_state() is WorkerState.PAUSED
        await transport.next_worker_state()
        assert worker.presence.paused
        assert (await service.get(task_id)).state is TaskState.PENDING
        await service.resume_worker("known")
        outcome = await transport.next_outcome()

    assert outcome.task_id == task_id
