"""What a worker reports: complete, heartbeat, fail, release, and the fencing token that
makes each outcome count once (SPEC §2)."""

import uuid

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from taskline.errors import LeaseLost, NotFound
from tests.helpers.seed import lease_one, submit

T = pytest.approx


async def test_complete_stores_the_result(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    clock.advance(3)

    done = await backend.complete(task.id, lease.token, result={"sum": 3, "items": []})

    assert done.state is TaskState.COMPLETED
    assert done.result == {"sum": 3, "items": []}
    assert done.completed_at == T(clock.now(), abs=0.002)
    assert await backend.get(task.id) == done


async def test_repeating_the_complete_returns_the_task_unchanged(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    done = await backend.complete(task.id, lease.token, result=1)
    clock.advance(5)

    again = await backend.complete(task.id, lease.token, result=2)

    assert again == done
    assert again.result == 1


async def test_a_wrong_token_is_refused_and_changes_nothing(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    await lease_one(backend, task)
    before = await backend.get(task.id)

    with pytest.raises(LeaseLost):
        await backend.complete(task.id, "not-the-token", result=1)
    with pytest.raises(LeaseLost):
        await backend.fail(task.id, "not-the-token", error="x")
    with pytest.raises(LeaseLost):
        await backend.heartbeat(task.id, "not-the-token")
    with pytest.raises(LeaseLost):
        await backend.release(task.id, "not-the-token")

    assert await backend.get(task.id) == before


async def test_an_unknown_task_is_not_found(backend: Backend) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(NotFound):
        await backend.complete(missing, "t")
    with pytest.raises(NotFound):
        await backend.fail(missing, "t", error="x")
    with pytest.raises(NotFound):
        await backend.heartbeat(missing, "t")


async def test_heartbeat_renews_the_lease_and_stores_progress(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    clock.advance(20)

    ack = await backend.heartbeat(task.id, lease.token, progress=40)

    assert ack.expires_at == T(clock.now() + 30, abs=0.002)
    assert ack.cancel_requested is False
    stored = await backend.get(task.id)
    assert stored is not None
    assert stored.progress == 40


async def test_heartbeat_never_extends_past_the_deadline(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, timeout=40)
    lease = await lease_one(backend, task)
    clock.advance(25)

    ack = await backend.heartbeat(task.id, lease.token)

    assert ack.expires_at == T(lease.task.started_at + 40, abs=0.002)  # type: ignore[operator]


async def test_a_late_result_before_recovery_is_accepted(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    clock.advance(45)  # the lease ran out, but nothing recovered it yet

    done = await backend.complete(task.id, lease.token, result="late")

    assert done.state is TaskState.COMPLETED


async def test_fail_with_retries_left_waits_out_the_backoff(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, max_retries=2)
    lease = await lease_one(backend, task)

    failed = await backend.fail(task.id, lease.token, error="smtp down")

    assert failed.state is TaskState.RETRYING
    assert failed.error == "smtp down"
    assert [(e.attempt, e.error) for e in failed.errors] == [(1, "smtp down")]
    assert clock.now() <= failed.due_at <= clock.now() + 1.0 + 0.002  # base 1 s, attempt 1: ≤ 1 s
    assert failed.completed_at is None


async def test_fail_with_retry_after_uses_that_delay(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)

    failed = await backend.fail(task.id, lease.token, error="rate limited", retry_after_s=120)

    assert failed.due_at == T(clock.now() + 120, abs=0.002)


async def test_fail_without_retry_goes_to_the_dlq(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, max_retries=5)
    lease = await lease_one(backend, task)

    failed = await backend.fail(task.id, lease.token, error="bad input", retry=False)

    assert failed.state is TaskState.FAILED
    assert failed.completed_at == T(clock.now(), abs=0.002)


async def test_the_last_retry_failing_goes_to_the_dlq(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, max_retries=1)
    first = await lease_one(backend, task)
    await backend.fail(task.id, first.token, error="one", retry_after_s=1)
    clock.advance(1)
    await backend.forward_due()
    second = await lease_one(backend, task)

    failed = await backend.fail(task.id, second.token, error="two")

    assert failed.state is TaskState.FAILED
    assert failed.attempts == 2
    assert [(e.attempt, e.error) for e in failed.errors] == [(1, "one"), (2, "two")]


async def test_a_repeated_fail_is_refused(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    await backend.fail(task.id, lease.token, error="x")

    with pytest.raises(LeaseLost):
        await backend.fail(task.id, lease.token, error="x")


async def test_release_hands_the_task_back_without_using_an_attempt(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)

    await backend.heartbeat(task.id, lease.token, progress=40)
    released = await backend.release(task.id, lease.token)

    assert released.state is TaskState.PENDING
    assert (released.attempts, released.started_at, released.progress) == (0, None, None)
    again = await lease_one(backend, task)
    assert again.task.attempts == 1
    with pytest.raises(LeaseLost):
        await backend.complete(task.id, lease.token)


async def test_release_of_a_task_whose_cancel_was_asked_ends_it_cancelled(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    lease = await lease_one(backend, task)
    await backend.cancel(task.id)

    released = await backend.release(task.id, lease.token)

    assert released.state is TaskState.CANCELLED
    assert released.attempts == 1  # it ran: the attempt counts, as any attempt that ended does


async def test_a_token_is_stale_once_the_task_is_leased_again(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock)
    old = await lease_one(backend, task, worker_id="dead")
    clock.advance(31)
    assert await backend.recover_expired() == 1
    clock.advance(3600)
    await backend.forward_due()
    new = await lease_one(backend, task, worker_id="alive")

    with pytest.raises(LeaseLost):
        await backend.complete(task.id, old.token, result="stale")
    with pytest.raises(LeaseLost):
        await backend.heartbeat(task.id, old.token)
    done = await backend.complete(task.id, new.token, result="fresh")

    assert new.task.worker_id == "alive"
    assert (done.result, done.attempts) == ("fresh", 2)
    assert done.worker_id is None  # SPEC §1: worker_id is shown while running
