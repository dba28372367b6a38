"""The webhook outbox (SPEC §6): a terminal state of a task with a webhook leaves a delivery,
which a dispatcher claims and settles, one attempt at a time, on both backends alike."""

from taskline.backends.base import Backend
from taskline.core.backoff import Backoff
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from taskline.core.task import Task
from taskline.core.webhooks import Delivery, DeliveryOutcome, outcome_of
from tests.helpers.seed import in_state, lease_one, submit

HOOK = "https://hooks.example.com/taskline"
CLAIM_S = 30.0


def answered(delivery: Delivery, status: int | None, *, max_attempts: int = 3) -> DeliveryOutcome:
    return outcome_of(
        delivery, status=status, error=None, max_attempts=max_attempts, backoff=Backoff(1.0, 10.0), jitter=1.0
    )


async def completed_with_hook(backend: Backend, clock: FrozenClock) -> Task:
    task = await submit(backend, clock, webhook=HOOK, payload={"n": 1})
    lease = await lease_one(backend, task)
    return await backend.complete(task.id, lease.token, result={"ok": True})


async def status_of(backend: Backend, task_id: str) -> dict[str, object] | None:
    task = await backend.get(task_id)
    assert task is not None
    return task.webhook_status


async def test_a_terminal_state_leaves_one_delivery_of_the_task_as_it_ended(
    backend: Backend, clock: FrozenClock
) -> None:
    task = await completed_with_hook(backend, clock)
    await in_state(backend, clock, TaskState.COMPLETED)  # no webhook: no delivery

    (delivery,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)

    assert (delivery.task_id, delivery.queue, delivery.event, delivery.attempts) == (
        task.id,
        "default",
        "task.completed",
        0,
    )
    assert delivery.task.state is TaskState.COMPLETED
    assert delivery.task.result == {"ok": True}
    assert delivery.task.payload == {"n": 1}
    assert delivery.task.webhook == HOOK
    assert await status_of(backend, task.id) == {
        "state": "pending",
        "attempts": 0,
        "last_status": None,
        "last_error": None,
    }


async def test_a_claimed_delivery_is_kept_from_others_until_the_claim_runs_out(
    backend: Backend, clock: FrozenClock
) -> None:
    await completed_with_hook(backend, clock)
    (first,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)

    assert await backend.claim_deliveries(limit=10, claim_s=CLAIM_S) == []
    clock.advance(CLAIM_S + 1)
    (again,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)

    assert again.id == first.id
    assert again.attempts == 0


async def test_a_delivered_attempt_leaves_the_outbox_and_is_counted(backend: Backend, clock: FrozenClock) -> None:
    task = await completed_with_hook(backend, clock)
    (delivery,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)

    assert await backend.settle_delivery(delivery, answered(delivery, 204))

    clock.advance(CLAIM_S + 1)
    assert await backend.claim_deliveries(limit=10, claim_s=CLAIM_S) == []
    assert await status_of(backend, task.id) == {
        "state": "delivered",
        "attempts": 1,
        "last_status": 204,
        "last_error": None,
    }
    assert (await backend.task_metrics()).webhooks == {"delivered": 1}


async def test_failed_attempts_are_retried_after_the_backoff_then_given_up(
    backend: Backend, clock: FrozenClock
) -> None:
    task = await completed_with_hook(backend, clock)
    (delivery,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)
    outcome = answered(delivery, 500, max_attempts=2)
    assert (outcome.state, outcome.retry_in_s) == ("pending", 1.0)

    assert await backend.settle_delivery(delivery, outcome)

    assert await status_of(backend, task.id) == {
        "state": "pending",
        "attempts": 1,
        "last_status": 500,
        "last_error": "answered 500",
    }
    clock.advance(0.5)
    assert await backend.claim_deliveries(limit=10, claim_s=CLAIM_S) == []  # not due before the backoff
    clock.advance(0.6)
    (second,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)
    assert (second.id, second.attempts) == (delivery.id, 1)

    assert await backend.settle_delivery(second, answered(second, None, max_attempts=2))

    clock.advance(3600)
    assert await backend.claim_deliveries(limit=10, claim_s=CLAIM_S) == []
    assert await status_of(backend, task.id) == {
        "state": "failed",
        "attempts": 2,
        "last_status": None,
        "last_error": "no answer",
    }
    assert (await backend.task_metrics()).webhooks == {"retried": 1, "failed": 1}


async def test_an_attempt_settled_already_is_not_settled_twice(backend: Backend, clock: FrozenClock) -> None:
    task = await completed_with_hook(backend, clock)
    (delivery,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)
    assert await backend.settle_delivery(delivery, answered(delivery, 500))

    # A second dispatcher that took the same attempt (its claim had run out) settles late.
    assert not await backend.settle_delivery(delivery, answered(delivery, 200))

    status = await status_of(backend, task.id)
    assert status is not None
    assert status["state"] == "pending"
    assert (await backend.task_metrics()).webhooks == {"retried": 1}


async def test_a_delivery_from_before_a_manual_retry_leaves_the_newer_status_alone(
    backend: Backend, clock: FrozenClock
) -> None:
    task = await submit(backend, clock, webhook=HOOK, max_retries=0)
    lease = await lease_one(backend, task)
    await backend.fail(task.id, lease.token, error="boom")
    (old,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)
    clock.advance(1)
    await backend.retry(task.id)
    lease = await lease_one(backend, task)
    await backend.complete(task.id, lease.token)
    (new,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)
    assert (old.event, new.event) == ("task.failed", "task.completed")
    assert new.id != old.id

    assert await backend.settle_delivery(new, answered(new, 200))
    assert await backend.settle_delivery(old, answered(old, 410, max_attempts=1))

    status = await status_of(backend, task.id)
    assert status is not None
    assert (status["state"], status["last_status"]) == ("delivered", 200)
    assert (await backend.task_metrics()).webhooks == {"delivered": 1, "failed": 1}


async def test_a_cancelled_task_is_delivered_too_and_a_deleted_one_still_settles(
    backend: Backend, clock: FrozenClock
) -> None:
    task = await submit(backend, clock, webhook=HOOK, queue="other")
    await backend.cancel(task.id)
    (delivery,) = await backend.claim_deliveries(limit=10, claim_s=CLAIM_S)
    assert (delivery.event, delivery.queue) == ("task.cancelled", "other")
    clock.advance(90 * 86400)
    assert await backend.trim_retention() == 1

    assert await backend.settle_delivery(delivery, answered(delivery, 200))

    assert await backend.get(task.id) is None
    clock.advance(CLAIM_S + 1)
    assert await backend.claim_deliveries(limit=10, claim_s=CLAIM_S) == []


async def test_a_claim_takes_at_most_limit_across_queues(backend: Backend, clock: FrozenClock) -> None:
    for queue in ("a", "b", "c"):
        await backend.cancel((await submit(backend, clock, webhook=HOOK, queue=queue)).id)

    first = await backend.claim_deliveries(limit=2, claim_s=CLAIM_S)
    rest = await backend.claim_deliveries(limit=2, claim_s=CLAIM_S)

    assert len(first) == 2
    assert len(rest) == 1
    assert {d.queue for d in first + rest} == {"a", "b", "c"}
