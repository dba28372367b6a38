"""Many leasers at once: every task leased once per attempt, none lost, none completed twice."""

import asyncio
from collections import Counter

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from taskline.errors import LeaseLost
from tests.helpers.seed import spec

TASKS = 2000
CONSUMERS = 16


async def test_concurrent_consumers_drain_every_task_exactly_once(backend: Backend, clock: FrozenClock) -> None:
    for start in range(0, TASKS, 500):
        await backend.submit([spec(clock, queue=f"q{i % 3}", priority=i % 4) for i in range(start, start + 500)])
    leased: Counter[str] = Counter()
    completed: Counter[str] = Counter()

    async def consume(n: int) -> None:
        while True:
            leases = await backend.lease(worker_id=f"c{n}", max=7)
            if not leases:
                return
            for lease in leases:
                leased[lease.task.id] += 1
            done = await asyncio.gather(*(backend.complete(x.task.id, x.token, result=n) for x in leases))
            for task in done:
                completed[task.id] += 1

    await asyncio.gather(*(consume(n) for n in range(CONSUMERS)))

    assert len(leased) == TASKS
    assert set(leased.values()) == {1}
    assert set(completed.values()) == {1}
    counts = await backend.counts()
    assert counts[TaskState.COMPLETED] == TASKS
    assert sum(counts.values()) == TASKS


async def test_racing_outcomes_for_one_lease_record_exactly_one(backend: Backend, clock: FrozenClock) -> None:
    (submitted,) = await backend.submit([spec(clock)])
    (lease,) = await backend.lease(worker_id="w")

    outcomes = await asyncio.gather(
        *(backend.complete(lease.task.id, lease.token, result=i) for i in range(5)),
        *(backend.fail(lease.task.id, lease.token, error=str(i), retry=False) for i in range(5)),
        return_exceptions=True,
    )

    final = await backend.get(submitted.task.id)
    assert final is not None
    assert final.state in (TaskState.COMPLETED, TaskState.FAILED)
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert all(isinstance(o, LeaseLost) for o in outcomes if isinstance(o, BaseException))
    if final.state is TaskState.COMPLETED:  # repeated completes with the same token return it unchanged
        assert {w.result for w in winners} == {final.result}
        assert len(winners) == 5
    else:
        assert len(winners) == 1
