"""The worker runner in-process, over both backends: handlers, outcomes, timeout, cancel, queues."""

import asyncio
import json
import os
import random
import threading
from typing import Any

import pytest

from taskline.api.schemas import FailBody
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.jsonvalue import MAX_DEPTH
from taskline.core.outcomes import MAX_ERROR_CHARS
from taskline.core.states import TaskState
from taskline.service import TaskService
from taskline.worker.app import App, TaskContext
from taskline.worker.outcomes import Fail, Retry
from taskline.worker.runner import WeightedQueue, Worker
from tests.integration.worker.conftest import RecordingTransport, RunWorker
from tests.integration.worker.tasks_app import runner_pid


async def submit(service: TaskService, type: str, payload: Any = None, **fields: Any) -> str:
    submitted = await service.submit({"type": type, "payload": payload or {}, **fields})
    return submitted.task.id


async def test_async_and_sync_handlers_store_their_results(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    threads: list[str] = []

    @app.task("add")
    async def add(payload: dict[str, int]) -> int:
        return payload["a"] + payload["b"]

    @app.task("shout")
    def shout(payload: dict[str, str], ctx: TaskContext) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return {"text": payload["text"].upper(), "attempt": ctx.attempt, "id": ctx.id}

    first = await submit(service, "add", {"a": 2, "b": 3})
    second = await submit(service, "shout", {"text": "hi"})
    async with run_worker(app):
        outcomes = {(await transport.next_outcome()).task_id for _ in range(2)}

    assert outcomes == {first, second}
    assert (await service.get(first)).result == 5
    done = await service.get(second)
    assert (done.state, done.result) == (TaskState.COMPLETED, {"text": "HI", "attempt": 1, "id": second})
    assert threads[0].startswith("taskline-handler")


async def test_an_exception_fails_the_attempt_and_the_task_retries(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)

    @app.task("flaky")
    async def flaky(payload: Any) -> None:
        raise ValueError("disk full")

    task_id = await submit(service, "flaky", max_retries=2)
    async with run_worker(app):
        outcome = await transport.next_outcome()

    task = await service.get(task_id)
    assert (outcome.kind, outcome.fields["retry"]) == ("fail", True)
    assert (task.state, task.error) == (TaskState.RETRYING, "ValueError: disk full")


async def test_fail_ends_the_task_and_retry_sets_its_due_time(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker, clock: FrozenClock
) -> None:
    app = App(builtins=False)

    @app.task("hopeless")
    async def hopeless(payload: Any) -> None:
        raise Fail("no such user")

    @app.task("later")
    async def later(payload: Any) -> None:
        raise Retry("rate limited upstream", after=120)

    hopeless_id = await submit(service, "hopeless", max_retries=5)
    later_id = await submit(service, "later")
    async with run_worker(app):
        await transport.next_outcome()
        await transport.next_outcome()

    failed = await service.get(hopeless_id)
    retrying = await service.get(later_id)
    assert (failed.state, failed.error) == (TaskState.FAILED, "no such user")
    assert (retrying.state, retrying.error) == (TaskState.RETRYING, "rate limited upstream")
    assert retrying.due_at == pytest.approx(clock.now() + 120)


async def test_a_result_that_is_not_json_fails_for_good(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)

    @app.task("odd")
    async def odd(payload: Any) -> object:
        return object()

    task_id = await submit(service, "odd")
    async with run_worker(app):
        await transport.next_outcome()

    task = await service.get(task_id)
    assert task.state is TaskState.FAILED
    assert str(task.error).startswith("result is not JSON")


async def test_an_error_is_sent_as_the_server_takes_it(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    """Over HTTP the server refuses an error past 65,536 characters, an empty one or one holding a
    lone surrogate (422), and the attempt would be lost to its lease timeout: each is cut, filled
    or made well-formed first, and what is sent passes the server's own `FailBody`."""
    app = App(builtins=False)
    raised = {
        "long": lambda: Fail("\N{GRINNING FACE}" * 70000),
        "empty": lambda: Retry(""),
        "lone": lambda: Fail("ab\ud83d"),
    }

    @app.task("raise")
    async def raise_(payload: dict[str, str]) -> None:
        raise raised[payload["kind"]]()

    ids = {await submit(service, "raise", {"kind": kind}): kind for kind in raised}
    async with run_worker(app):
        outcomes = [await transport.next_outcome() for _ in ids]

    sent = {ids[outcome.task_id]: outcome.fields["error"] for outcome in outcomes}
    assert sent == {"long": "\N{GRINNING FACE}" * MAX_ERROR_CHARS, "empty": "failed", "lone": "ab\ufffd"}
    for error in sent.values():
        FailBody.model_validate_json(json.dumps({"token": "t", "error": error}))  # as the server parses it


async def test_a_result_nested_deeper_than_the_server_takes_fails_for_good(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)

    @app.task("deep")
    async def deep(payload: Any) -> object:
        result: object = []
        for _ in range(MAX_DEPTH):  # one level more than MAX_DEPTH: the list around the last
            result = [result]
        return result

    task_id = await submit(service, "deep")
    async with run_worker(app):
        await transport.next_outcome()

    task = await service.get(task_id)
    assert task.state is TaskState.FAILED
    assert str(task.error).startswith(f"result nests deeper than {MAX_DEPTH} levels")


async def test_an_attempt_past_its_timeout_is_stopped_and_failed(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    stopped = asyncio.Event()

    @app.task("stuck")
    async def stuck(payload: Any) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    task_id = await submit(service, "stuck", timeout=0.2)
    async with run_worker(app):
        outcome = await transport.next_outcome()

    assert outcome.fields == {"error": "timeout", "retry": True}
    assert stopped.is_set()
    assert (await service.get(task_id)).state is TaskState.RETRYING


@pytest.fixture
def engine_config() -> EngineConfig:
    return EngineConfig(lease_s=1.5)  # heartbeats every 0.5 s, so a cancel arrives quickly


async def test_a_cancel_reaches_the_running_handler_through_its_heartbeat(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    started = asyncio.Event()

    @app.task("long")
    async def long(payload: Any, ctx: TaskContext) -> None:
        ctx.progress(25)
        started.set()
        await asyncio.Event().wait()

    task_id = await submit(service, "long")
    async with run_worker(app):
        await started.wait()
        await service.cancel(task_id)
        outcome = await transport.next_outcome()

    task = await service.get(task_id)
    assert (outcome.kind, outcome.fields["error"]) == ("fail", "cancelled")
    assert task.state is TaskState.CANCELLED
    assert task.progress == 25


async def test_a_def_handler_reports_progress_and_its_cancel_ends_the_attempt(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    reported, unblock = threading.Event(), threading.Event()

    @app.task("long")
    def long(payload: Any, ctx: TaskContext) -> str:
        ctx.progress(40)  # from the handler's thread
        reported.set()
        unblock.wait(10)  # a thread can't be stopped: the cancel ends the attempt, not the call
        return "late"

    task_id = await submit(service, "long")
    async with run_worker(app, concurrency=1) as worker:
        await asyncio.to_thread(reported.wait, 10)
        sent = await asyncio.wait_for(transport.progress_sent.get(), 5)  # brought forward, not at 1/3 lease
        await service.cancel(task_id)
        outcome = await transport.next_outcome()
        slot_held = len(worker._running)
        unblock.set()

    assert sent == 40
    assert (outcome.kind, outcome.fields["error"]) == ("fail", "cancelled")
    assert slot_held == 1  # until the thread returns
    assert (await service.get(task_id)).state is TaskState.CANCELLED


async def test_progress_is_sent_while_the_handler_runs(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    reported = asyncio.Event()
    finish = asyncio.Event()

    @app.task("steps")
    async def steps(payload: Any, ctx: TaskContext) -> str:
        ctx.progress(60)
        reported.set()
        await finish.wait()
        return "done"

    task_id = await submit(service, "steps")
    async with run_worker(app):
        await reported.wait()
        sent = await asyncio.wait_for(transport.progress_sent.get(), 5)  # brought forward, not at 1/3 lease
        seen = (await service.get(task_id)).progress
        finish.set()
        await transport.next_outcome()

    assert (sent, seen) == (60, 60)
    assert (await service.get(task_id)).state is TaskState.COMPLETED


async def test_a_paused_queue_is_left_alone_until_resumed(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)

    @app.task("job")
    async def job(payload: Any) -> Any:
        return payload

    await service.backend.pause_queue("held")
    held = await submit(service, "job", {"n": 1}, queue="held")
    free = await submit(service, "job", {"n": 2}, queue="free")  # submitted later: leased first only if paused
    async with run_worker(app):
        first = await transport.next_outcome()
        still = await service.get(held)
        await service.backend.resume_queue("held")
        second = await transport.next_outcome()

    assert (first.task_id, still.state) == (free, TaskState.PENDING)
    assert second.task_id == held


async def test_weighted_queues_all_progress_in_proportion(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    order: list[str] = []

    @app.task("job")
    async def job(payload: Any, ctx: TaskContext) -> None:
        order.append(ctx.queue)

    await service.submit_many([{"type": "job", "queue": q} for q in ("heavy", "light") for _ in range(60)])
    random.seed(7)  # the weighted order is random; a fixed seed keeps the test exact
    queues = [WeightedQueue("heavy", 3), WeightedQueue("light", 1)]
    async with run_worker(app, concurrency=1, queues=queues):
        for _ in range(40):
            await transport.next_outcome()

    taken = order[:40]
    assert 0 < taken.count("light") < taken.count("heavy")


async def test_only_types_with_a_handler_are_leased(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)

    @app.task("mine")
    async def mine(payload: Any) -> str:
        return "ok"

    theirs = await submit(service, "theirs")
    ours = await submit(service, "mine")
    async with run_worker(app):
        outcome = await transport.next_outcome()

    assert outcome.task_id == ours
    assert (await service.get(theirs)).state is TaskState.PENDING


async def test_stopping_lets_running_tasks_finish_and_leaves_queued_ones(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    started = asyncio.Event()
    finish = asyncio.Event()

    @app.task("job")
    async def job(payload: Any) -> str:
        started.set()
        await finish.wait()
        return "finished"

    running = await submit(service, "job")
    async with run_worker(app, concurrency=1) as worker:
        await started.wait()
        queued = await submit(service, "job")
        worker.stop()
        finish.set()

    assert (await service.get(running)).state is TaskState.COMPLETED
    waiting = await service.get(queued)
    assert (waiting.state, waiting.attempts) == (TaskState.PENDING, 0)


async def test_a_task_unfinished_at_the_shutdown_timeout_is_handed_back_without_an_attempt(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    started = asyncio.Event()

    @app.task("endless")
    async def endless(payload: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    task_id = await submit(service, "endless")
    async with run_worker(app, shutdown_timeout_s=0.1):
        await started.wait()
    outcome = await transport.next_outcome()

    task = await service.get(task_id)
    assert outcome.kind == "release"
    assert (task.state, task.attempts) == (TaskState.PENDING, 0)


async def test_a_handler_may_run_in_a_process_of_its_own(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    app.add("pid", runner_pid, process=True)

    task_id = await submit(service, "pid")
    async with run_worker(app):
        await transport.next_outcome()

    task = await service.get(task_id)
    assert task.state is TaskState.COMPLETED
    assert task.result != os.getpid()


def test_a_process_handler_must_be_sync_and_take_no_context() -> None:
    app = App()

    async def coroutine(payload: Any) -> None: ...

    def with_context(payload: Any, ctx: TaskContext) -> None: ...

    with pytest.raises(ValueError, match="sync"):
        app.add("a", coroutine, process=True)
    with pytest.raises(TypeError, match="no context"):
        app.add("b", with_context, process=True)


async def test_a_stuck_sync_handler_keeps_its_slot_until_its_thread_returns(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    app = App(builtins=False)
    unblock = threading.Event()

    @app.task("blocking")
    def blocking(payload: Any) -> str:
        unblock.wait(10)  # a thread can't be cancelled: it ignores the timeout
        return "late"

    @app.task("quick")
    def quick(payload: Any) -> str:
        return "ran"

    stuck = await submit(service, "blocking", timeout=0.2)
    async with run_worker(app, concurrency=1) as worker:
        timed_out = await transport.next_outcome()
        queued = await submit(service, "quick")
        for _ in range(5):
            await asyncio.sleep(0)
        held = (len(worker._running), (await service.get(queued)).state)
        unblock.set()
        ran = await transport.next_outcome()

    assert (timed_out.task_id, timed_out.fields["error"]) == (stuck, "timeout")
    assert held == (1, TaskState.PENDING)  # not leased to wait behind the stuck thread
    assert (ran.task_id, ran.fields["result"]) == (queued, "ran")


def test_types_without_a_handler_are_refused(transport: RecordingTransport) -> None:
    app = App(builtins=False)
    app.add("known", lambda payload: None)

    with pytest.raises(ValueError, match="unknwon"):
        Worker(app, transport, types=["known", "unknwon"])
