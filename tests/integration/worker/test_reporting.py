"""A worker reports outcomes in batches that lease its next tasks: every task still runs once,
never more at a time than its concurrency, and a stop leaves nothing running."""

import asyncio
from collections import Counter
from typing import Any

from taskline.core.states import TaskState
from taskline.core.task import TaskFilter
from taskline.service import TaskService
from taskline.worker.app import App
from tests.integration.worker.conftest import RecordingTransport, RunWorker

TASKS = 200
CONCURRENCY = 4


async def submit_many(service: TaskService, count: int) -> set[str]:
    return {s.task.id for s in await service.submit_many([{"type": "work", "payload": {}}] * count)}


def counting_app(calls: Counter[str], active: list[int], peak: list[int]) -> App:
    app = App(builtins=False)

    @app.task("work")
    async def work(payload: Any, ctx: Any) -> str:
        calls[ctx.id] += 1
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        await asyncio.sleep(0)  # let the other slots' tasks end around this one
        active[0] -= 1
        return ctx.id

    return app


async def test_every_task_runs_once_with_its_lease_mostly_brought_by_a_report(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    ids = await submit_many(service, TASKS)
    calls: Counter[str] = Counter()
    active, peak = [0], [0]

    async with run_worker(counting_app(calls, active, peak), concurrency=CONCURRENCY):
        finished = [await transport.next_outcome() for _ in range(TASKS)]

    assert {o.task_id for o in finished} == ids
    assert set(calls) == ids
    assert set(calls.values()) == {1}
    assert peak[0] <= CONCURRENCY
    page = await service.list_tasks(TaskFilter(state=TaskState.COMPLETED), limit=500, cursor=None)
    assert {t.id for t in page.tasks} == ids
    leased_with_reports = sum(leased for _, leased in transport.reports)
    assert leased_with_reports > TASKS // 2  # polls only start it and pick up after a report found nothing


async def test_a_stop_leaves_no_task_running_and_no_attempt_used_up(
    service: TaskService, transport: RecordingTransport, run_worker: RunWorker
) -> None:
    ids = await submit_many(service, TASKS)
    calls: Counter[str] = Counter()
    active, peak = [0], [0]

    async with run_worker(counting_app(calls, active, peak), concurrency=CONCURRENCY):
        for _ in range(20):
            await transport.next_outcome()
    # run_worker stopped it: reports in flight may have leased more, which go back unstarted.

    tasks = [await service.get(task_id) for task_id in ids]
    states = Counter(t.state for t in tasks)
    assert set(states) <= {TaskState.COMPLETED, TaskState.PENDING}
    assert states[TaskState.COMPLETED] == len(calls) >= 20
    assert all(t.attempts == 0 for t in tasks if t.state is TaskState.PENDING)
