"""`HandlerThreads`: each result reaches its own caller, a job given up before it started never
runs, and the slot-holding `finished` future is done only once the thread has returned."""

import asyncio
import contextvars
import threading

import pytest

from taskline.worker.threads import HandlerThreads

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def double_or_fail(n: int) -> int:
    if n % 3 == 0:
        raise ValueError(f"no {n}")
    return 2 * n


async def test_results_and_errors_reach_their_own_callers() -> None:
    threads = HandlerThreads(4, name="test")
    jobs = [threads.submit(double_or_fail, n) for n in range(60)]
    outcomes = await asyncio.gather(*(job.result for job in jobs), return_exceptions=True)
    threads.shutdown()

    for n, outcome in enumerate(outcomes):
        if n % 3 == 0:
            assert isinstance(outcome, ValueError)
            assert str(outcome) == f"no {n}"
        else:
            assert outcome == 2 * n


async def test_a_job_cancelled_before_a_thread_took_it_never_runs() -> None:
    threads = HandlerThreads(1, name="test")
    release = threading.Event()
    ran: list[str] = []
    first = threads.submit(lambda: release.wait(10) and ran.append("first"))
    second = threads.submit(ran.append, "second")
    second.result.cancel()  # while the only thread is busy with the first
    release.set()
    await asyncio.wait_for(asyncio.gather(first.finished, second.finished), 10)
    threads.shutdown()

    assert ran == ["first"]


async def test_finished_waits_for_a_call_whose_result_was_given_up() -> None:
    threads = HandlerThreads(1, name="test")
    started, release = threading.Event(), threading.Event()

    def stuck() -> str:
        started.set()
        release.wait(10)
        return "late"

    job = threads.submit(stuck)
    await asyncio.to_thread(started.wait, 10)
    job.result.cancel()  # the attempt timed out; the thread goes on
    await asyncio.sleep(0)
    still_running = not job.finished.done()
    release.set()
    await asyncio.wait_for(job.finished, 10)
    threads.shutdown()

    assert still_running
    assert job.result.cancelled()


async def test_the_handler_sees_the_context_vars_of_its_caller() -> None:
    threads = HandlerThreads(2, name="test")
    request_id.set("abc")
    seen = await threads.submit(request_id.get).result
    threads.shutdown()

    assert seen == "abc"


async def test_stop_iteration_from_a_handler_is_an_ordinary_error() -> None:
    threads = HandlerThreads(1, name="test")
    job = threads.submit(next, iter(()))
    with pytest.raises(RuntimeError, match="StopIteration"):
        await asyncio.wait_for(job.result, 10)
    threads.shutdown()
