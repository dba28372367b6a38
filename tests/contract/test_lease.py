"""Leasing: lease order (priority, then FIFO by due time), filters, pause, and the lease itself."""

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.states import TaskState
from tests.helpers.seed import spec, submit

T = pytest.approx


async def leased_names(backend: Backend, **filters: object) -> list[str]:
    leases = await backend.lease(worker_id="w", max=100, **filters)  # type: ignore[arg-type]
    return [lease.task.payload["name"] for lease in leases]


async def test_higher_priority_leases_first(backend: Backend, clock: FrozenClock) -> None:
    for name in ["low", "normal", "high", "critical"]:
        await submit(backend, clock, priority=name, payload={"name": name})
        clock.advance(1)

    assert await leased_names(backend) == ["critical", "high", "normal", "low"]


async def test_same_priority_is_first_in_first_out(backend: Backend, clock: FrozenClock) -> None:
    for i in range(20):
        await submit(backend, clock, payload={"name": i})
        clock.advance(0.001)

    assert await leased_names(backend) == list(range(20))


async def test_one_at_a_time_follows_the_same_order(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, payload={"name": "a"})
    clock.advance(1)
    await submit(backend, clock, payload={"name": "b"}, priority=3)

    first = await backend.lease(worker_id="w")
    second = await backend.lease(worker_id="w")
    third = await backend.lease(worker_id="w")

    assert [x.task.payload["name"] for x in first + second] == ["b", "a"]
    assert third == []


async def test_priority_holds_across_queues(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, queue="a", priority="low", payload={"name": "a-low"})
    clock.advance(1)
    await submit(backend, clock, queue="b", priority="critical", payload={"name": "b-critical"})

    assert await leased_names(backend, queues=["a", "b"]) == ["b-critical", "a-low"]


async def test_queues_filter(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, queue="a", payload={"name": "a"})
    await submit(backend, clock, queue="b", payload={"name": "b"})

    assert await leased_names(backend, queues=["b"]) == ["b"]
    assert await leased_names(backend, queues=["c"]) == []
    assert await leased_names(backend) == ["a"]


async def test_types_filter(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, "resize", payload={"name": "resize"})
    clock.advance(1)
    await submit(backend, clock, "email", payload={"name": "email"})

    assert await leased_names(backend, types=["email", "sms"]) == ["email"]
    assert await leased_names(backend, types=["resize"]) == ["resize"]


async def test_a_type_seen_later_is_still_leased(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, "first", payload={"name": "first"})
    assert await leased_names(backend) == ["first"]

    await submit(backend, clock, "second", payload={"name": "second"})

    assert await leased_names(backend) == ["second"]


async def test_max_bounds_one_lease_call(backend: Backend, clock: FrozenClock) -> None:
    await backend.submit([spec(clock, payload={"name": i}) for i in range(5)])

    first = await backend.lease(worker_id="w", max=3)
    rest = await backend.lease(worker_id="w", max=3)

    assert len(first) == 3
    assert len(rest) == 2
    assert {x.task.id for x in first}.isdisjoint({x.task.id for x in rest})


async def test_a_paused_queue_gives_nothing_until_resumed(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, queue="p", payload={"name": "p"})
    await backend.pause_queue("p")

    assert await leased_names(backend) == []
    assert await leased_names(backend, queues=["p"]) == []
    (stats,) = [q for q in await backend.queue_stats() if q.name == "p"]
    assert stats.paused

    await backend.resume_queue("p")
    assert await leased_names(backend) == ["p"]


async def test_a_lease_marks_the_task_running(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, timeout=600)
    clock.advance(2)

    (lease,) = await backend.lease(worker_id="worker-7")

    assert lease.task.id == task.id
    assert lease.token
    assert lease.expires_at == T(clock.now() + 30, abs=0.002)
    stored = await backend.get(task.id)
    assert stored is not None
    assert stored.state is TaskState.RUNNING
    assert (stored.attempts, stored.worker_id) == (1, "worker-7")
    assert stored.started_at == T(clock.now(), abs=0.002)


async def test_a_lease_never_outlives_the_attempt_deadline(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, timeout=5)

    (lease,) = await backend.lease(worker_id="w")

    assert lease.expires_at == T(clock.now() + 5, abs=0.002)


async def test_each_lease_has_its_own_token(backend: Backend, clock: FrozenClock) -> None:
    await backend.submit([spec(clock) for _ in range(10)])

    leases = await backend.lease(worker_id="w", max=10)

    assert len({lease.token for lease in leases}) == 10


async def test_scheduled_tasks_are_not_leased_before_due(backend: Backend, clock: FrozenClock) -> None:
    await submit(backend, clock, delay=10, payload={"name": "later"})

    assert await leased_names(backend) == []


class TestPriorityAging:
    @pytest.fixture
    def engine_config(self) -> EngineConfig:
        return EngineConfig(priority_aging_s=10)

    async def test_a_fresh_high_task_still_goes_first(self, backend: Backend, clock: FrozenClock) -> None:
        await submit(backend, clock, priority="low", payload={"name": "low"})
        clock.advance(15)  # high counts as due 20 s earlier: -5 s, ahead of low's 0 s
        await submit(backend, clock, priority="high", payload={"name": "high"})

        assert await leased_names(backend) == ["high", "low"]

    async def test_a_low_task_that_waited_long_enough_goes_first(self, backend: Backend, clock: FrozenClock) -> None:
        await submit(backend, clock, priority="low", payload={"name": "low"})
        clock.advance(25)  # high counts as due at +5 s, behind low's 0 s
        await submit(backend, clock, priority="high", payload={"name": "high"})

        assert await leased_names(backend) == ["low", "high"]


async def test_a_new_attempt_starts_with_no_progress(backend: Backend, clock: FrozenClock) -> None:
    """Progress belongs to an attempt: the next one, after a failure or a retry by hand, starts at none."""
    task = await submit(backend, clock, max_retries=1)
    first = (await backend.lease(worker_id="w"))[0]
    await backend.heartbeat(task.id, first.token, progress=0.5)
    await backend.fail(task.id, first.token, error="boom")
    assert (await backend.get(task.id)).progress == 0.5  # type: ignore[union-attr]  # kept for the record

    clock.advance(3600)
    await backend.forward_due()
    second = (await backend.lease(worker_id="w"))[0]
    assert second.task.attempts == 2
    assert second.task.progress is None
    assert (await backend.get(task.id)).progress is None  # type: ignore[union-attr]

    await backend.heartbeat(task.id, second.token, progress=0.75)
    await backend.fail(task.id, second.token, error="boom again")
    assert (await backend.get(task.id)).state is TaskState.FAILED  # type: ignore[union-attr]
    retried = await backend.retry(task.id)
    assert retried.progress is None
    assert (await backend.get(task.id)).progress is None  # type: ignore[union-attr]


async def test_ties_lease_in_submission_order_across_queues_and_types(backend: Backend, clock: FrozenClock) -> None:
    # Found by tests/differential: on Redis equal order keys went by queue name, then type name;
    # on SQLite by id. One bulk shares its due time, so its tasks lease in the order given.
    shapes = [("q2", "b"), ("q1", "b"), ("q2", "a"), ("q1", "a"), ("q2", "b")]
    results = await backend.submit([spec(clock, type_, queue=queue) for queue, type_ in shapes])
    ids = [result.task.id for result in results]

    leased = [lease.task.id for lease in await backend.lease(worker_id="w", max=3)]
    leased += [lease.task.id for lease in await backend.lease(worker_id="w", queues=["q1", "q2"], max=5)]

    assert leased == ids


async def test_times_and_progress_read_back_as_numbers_of_one_kind(backend: Backend, clock: FrozenClock) -> None:
    # Found by tests/differential: SQLite's RETURNING gave a whole REAL back as an int, so a
    # leased task's timeout went out as 300 where a GET (and Redis) said 300.0.
    task = await submit(backend, clock, timeout=300)
    (lease,) = await backend.lease(worker_id="w", types=[task.type])
    await backend.heartbeat(task.id, lease.token, progress=50)
    stored = await backend.get(task.id)

    assert type(lease.task.timeout) is float
    assert stored is not None
    assert type(stored.progress) is float
    assert type(stored.timeout) is float


async def test_a_new_type_leases_in_order_at_once(backend: Backend, clock: FrozenClock) -> None:
    # Found by tests/differential: on Redis a lease of any type read the queue's types from a
    # cache up to a second old, so a type first submitted since was passed over while older
    # work of other types remained.
    old = await submit(backend, clock, "old-type", queue="q")
    await backend.lease(worker_id="w", max=1)  # reads (and caches) the queue's types
    await submit(backend, clock, "old-type", queue="q")
    clock.advance(1)
    new = await submit(backend, clock, "new-type", queue="q", priority=3)

    leased = [lease.task.id for lease in await backend.lease(worker_id="w", max=1)]

    assert old.id not in leased
    assert leased == [new.id]
