"""Settling a batch of outcomes in one step, with the worker's next leases: each outcome ends
as `complete` or `fail` would, and one refused (a stale token, an unknown task) fails alone."""

import uuid

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.outcomes import Completion, Failure, LeaseAsk
from taskline.core.states import TaskState
from taskline.core.task import Task
from taskline.errors import LeaseLost, NotFound
from tests.helpers.seed import lease_one, submit

T = pytest.approx


async def stored(backend: Backend, task_id: str) -> Task:
    task = await backend.get(task_id)
    assert task is not None
    return task


async def test_a_batch_ends_each_task_and_a_stale_token_fails_only_its_own(
    backend: Backend, clock: FrozenClock
) -> None:
    tasks = [await submit(backend, clock, type=f"t{i}") for i in range(4)]
    leases = [await lease_one(backend, task) for task in tasks]

    settlement = await backend.settle(
        [
            Completion(tasks[0].id, leases[0].token, {"n": 0}),
            Completion(tasks[1].id, "stale-token", {"n": 1}),
            Failure(tasks[2].id, leases[2].token, "boom", retry=False),
            Failure(tasks[3].id, leases[3].token, "later", retry_after_s=60),
        ]
    )

    settled = settlement.settled
    assert [s.task_id for s in settled] == [t.id for t in tasks]
    assert [s.state for s in settled] == [TaskState.COMPLETED, None, TaskState.FAILED, TaskState.RETRYING]
    assert isinstance(settled[1].refused, LeaseLost)
    assert all(s.refused is None for s in (settled[0], settled[2], settled[3]))
    assert all(s.task is None for s in settled)  # not asked for
    assert settlement.leases == []
    now = [await stored(backend, t.id) for t in tasks]
    assert [t.state for t in now] == [
        TaskState.COMPLETED,
        TaskState.RUNNING,  # the stale outcome changed nothing
        TaskState.FAILED,
        TaskState.RETRYING,
    ]
    assert now[0].result == {"n": 0}
    assert now[3].due_at == T(clock.now() + 60, abs=0.002)
    assert [e.error for e in now[2].errors] == ["boom"]


async def test_an_unknown_task_is_not_found_alone(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    missing = str(uuid.uuid4())

    settled = (
        await backend.settle([Failure(missing, "t", "x"), Completion(missing, "t"), Completion(task.id, lease.token)])
    ).settled

    assert isinstance(settled[0].refused, NotFound)
    assert isinstance(settled[1].refused, NotFound)
    assert settled[2].state is TaskState.COMPLETED


async def test_a_repeated_complete_is_accepted_and_a_repeated_fail_refused(
    backend: Backend, clock: FrozenClock
) -> None:
    done, failed = await submit(backend, clock, type="a"), await submit(backend, clock, type="b")
    done_lease, failed_lease = await lease_one(backend, done), await lease_one(backend, failed)

    settled = (
        await backend.settle(
            [
                Completion(done.id, done_lease.token, "first"),
                Completion(done.id, done_lease.token, "second"),
                Failure(failed.id, failed_lease.token, "one"),
                Failure(failed.id, failed_lease.token, "two"),
            ],
            with_tasks=True,
        )
    ).settled

    assert [s.state for s in settled[:3]] == [TaskState.COMPLETED, TaskState.COMPLETED, TaskState.RETRYING]
    assert settled[1].task == await stored(backend, done.id)
    assert settled[1].task.result == "first"  # the first result stands
    assert isinstance(settled[3].refused, LeaseLost)
    assert [e.error for e in (await stored(backend, failed.id)).errors] == ["one"]


async def test_a_failed_attempt_whose_cancel_was_asked_ends_cancelled(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    await backend.cancel(task.id)

    (settled,) = (await backend.settle([Failure(task.id, lease.token, "stopped")])).settled

    assert settled.state is TaskState.CANCELLED


async def test_the_tasks_come_back_when_asked_for(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    clock.advance(2)

    (settled,) = (await backend.settle([Completion(task.id, lease.token, [1])], with_tasks=True)).settled

    assert settled.task == await stored(backend, task.id)
    assert settled.task.completed_at == T(clock.now(), abs=0.002)


async def test_the_next_tasks_are_leased_in_lease_order_with_the_outcome(backend: Backend, clock: FrozenClock) -> None:
    first = await submit(backend, clock, queue="work")
    lease = await lease_one(backend, first)
    low = await submit(backend, clock, queue="work", priority="low")
    high = await submit(backend, clock, queue="work", priority="high")
    normal = await submit(backend, clock, queue="work")

    settlement = await backend.settle(
        [Completion(first.id, lease.token)], then_lease=LeaseAsk("w2", 2, queues=["work"], types=["echo"])
    )

    assert settlement.settled[0].state is TaskState.COMPLETED
    assert [x.task.id for x in settlement.leases] == [high.id, normal.id]
    for leased in settlement.leases:
        assert (leased.task.state, leased.task.worker_id, leased.task.attempts) == (TaskState.RUNNING, "w2", 1)
        assert leased.expires_at == T(clock.now() + 30, abs=0.002)
        done = await backend.complete(leased.task.id, leased.token)  # the token is the lease's
        assert done.state is TaskState.COMPLETED
    assert (await stored(backend, low.id)).state is TaskState.PENDING


async def test_outcomes_in_two_queues_then_a_lease_across_queues_keep_priority(
    backend: Backend, clock: FrozenClock
) -> None:
    a, b = await submit(backend, clock, queue="qa"), await submit(backend, clock, queue="qb")
    lease_a, lease_b = await lease_one(backend, a), await lease_one(backend, b)
    normal_a = await submit(backend, clock, queue="qa")
    critical_c = await submit(backend, clock, queue="qc", priority="critical")

    settlement = await backend.settle(
        [Completion(a.id, lease_a.token), Failure(b.id, lease_b.token, "x", retry=False)],
        then_lease=LeaseAsk("w", 1, queues=None, types=None),
    )

    assert [s.state for s in settlement.settled] == [TaskState.COMPLETED, TaskState.FAILED]
    assert [x.task.id for x in settlement.leases] == [critical_c.id]  # another queue's better head first
    again = await backend.settle(
        [Completion(critical_c.id, settlement.leases[0].token)], then_lease=LeaseAsk("w", 5, queues=["qc"])
    )
    assert again.leases == []  # qc is empty now; qa was not asked for
    assert (await stored(backend, normal_a.id)).state is TaskState.PENDING


async def test_a_lease_with_the_outcome_goes_on_in_lease_order_past_another_queues_head(
    backend: Backend, clock: FrozenClock
) -> None:
    done = await submit(backend, clock, queue="qa")
    lease = await lease_one(backend, done)
    critical_a = await submit(backend, clock, queue="qa", priority="critical")
    low_a = await submit(backend, clock, queue="qa", priority="low")
    normal_b = await submit(backend, clock, queue="qb")
    high_b = await submit(backend, clock, queue="qb", priority="high")

    settlement = await backend.settle([Completion(done.id, lease.token)], then_lease=LeaseAsk("w", 3))

    assert [x.task.id for x in settlement.leases] == [critical_a.id, high_b.id, normal_b.id]
    assert (await stored(backend, low_a.id)).state is TaskState.PENDING


async def test_refused_outcomes_still_bring_the_next_lease(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, queue="solo")
    await lease_one(backend, task)
    waiting = await submit(backend, clock, queue="solo")

    settlement = await backend.settle(
        [Completion(task.id, "stale")], then_lease=LeaseAsk("w", 3, queues=["solo"], types=["echo"])
    )

    assert isinstance(settlement.settled[0].refused, LeaseLost)
    assert [x.task.id for x in settlement.leases] == [waiting.id]


async def test_a_paused_queue_gives_no_next_lease(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, queue="held")
    lease = await lease_one(backend, task)
    await submit(backend, clock, queue="held")
    await backend.pause_queue("held")

    settlement = await backend.settle([Completion(task.id, lease.token)], then_lease=LeaseAsk("w", 1, queues=["held"]))

    assert settlement.settled[0].state is TaskState.COMPLETED
    assert settlement.leases == []
