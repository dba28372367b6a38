"""Submitting: the stored record, scheduling at submit, batches, unique keys."""

import asyncio
import uuid

import pytest

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.states import TaskState
from tests.helpers.seed import spec, submit

T = pytest.approx


async def test_submit_stores_a_pending_task_with_server_fields(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, "email", payload={"to": "a@b.c"}, priority="high", metadata={"k": 1})

    assert uuid.UUID(task.id).version == 7
    assert task.state is TaskState.PENDING
    assert (task.attempts, task.priority, task.queue) == (0, 2, "default")
    assert task.created_at == T(clock.now(), abs=0.002)
    stored = await backend.get(task.id)
    assert stored is not None
    assert (stored.type, stored.payload, stored.metadata, stored.state) == (
        "email",
        {"to": "a@b.c"},
        {"k": 1},
        TaskState.PENDING,
    )
    assert (stored.result, stored.error, stored.errors, stored.worker_id) == (None, None, [], None)


async def test_a_submit_answers_with_the_task_as_it_reads_back(backend: Backend, clock: FrozenClock) -> None:
    # Backends answer a submit with the task they built rather than reading it back, so it
    # must already be what they store: times in whole ms, the timeout as the record keeps it.
    clock.advance(0.0004567)
    fields = {"timeout": 12.3456, "metadata": {"m": [1]}, "unique_key": "k", "webhook": "https://example.com/h"}
    now = await submit(backend, clock, "precise", priority="high", **fields)
    later = await submit(backend, clock, "precise", delay=5.1234567)
    batch = await backend.submit([spec(clock, "precise", payload=n, unique_key="same") for n in range(3)])

    for task in (now, later, *(outcome.task for outcome in batch)):
        assert await backend.get(task.id) == task
    assert [outcome.created for outcome in batch] == [True, False, False]
    assert {outcome.task.id for outcome in batch} == {batch[0].task.id}


async def test_payload_comes_back_exactly_as_sent(backend: Backend, clock: FrozenClock) -> None:
    payloads = [[], {}, {"empty": [], "nested": {"f": 1.5, "big": 2**60, "s": "ünï ✓"}}, "text", 7, None]
    for payload in payloads:
        task = await submit(backend, clock, payload=payload)
        stored = await backend.get(task.id)
        assert stored is not None
        assert stored.payload == payload
        assert type(stored.payload) is type(payload)


async def test_get_of_an_unknown_id_is_none(backend: Backend) -> None:
    assert await backend.get(str(uuid.uuid4())) is None


async def test_delay_makes_a_scheduled_task(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, delay=30)

    assert task.state is TaskState.SCHEDULED
    assert task.scheduled_at == T(clock.now() + 30, abs=0.002)


async def test_delay_zero_is_pending_at_once(backend: Backend, clock: FrozenClock) -> None:
    task = await submit(backend, clock, delay=0)

    assert task.state is TaskState.PENDING


async def test_a_batch_is_stored_in_order(backend: Backend, clock: FrozenClock) -> None:
    specs = [spec(clock, "t", payload={"i": i}, queue=f"q{i % 3}") for i in range(25)]

    results = await backend.submit(specs)

    assert [r.task.payload for r in results] == [{"i": i} for i in range(25)]
    assert all(r.created for r in results)
    assert len({r.task.id for r in results}) == 25
    for r in results:
        stored = await backend.get(r.task.id)
        assert stored is not None
        assert stored.queue == r.task.queue


async def test_unique_key_returns_the_live_task(backend: Backend, clock: FrozenClock) -> None:
    first = await backend.submit([spec(clock, unique_key="order-1")])
    again = await backend.submit([spec(clock, unique_key="order-1", payload={"other": True})])

    assert again[0].created is False
    assert again[0].task.id == first[0].task.id
    assert again[0].task.payload == {}


async def test_concurrent_submits_of_one_unique_key_make_one_task(backend: Backend, clock: FrozenClock) -> None:
    submits = [backend.submit([spec(clock, unique_key="k", payload={"n": n})]) for n in range(10)]
    results = await asyncio.gather(*submits)

    outcomes = [r for (r,) in results]
    assert sum(r.created for r in outcomes) == 1
    assert len({r.task.id for r in outcomes}) == 1
    assert (await backend.counts())[TaskState.PENDING] == 1


async def test_unique_key_is_scoped_by_queue(backend: Backend, clock: FrozenClock) -> None:
    (a,) = await backend.submit([spec(clock, unique_key="k", queue="a")])
    (b,) = await backend.submit([spec(clock, unique_key="k", queue="b")])

    assert b.created
    assert a.task.id != b.task.id


async def test_unique_key_holds_after_the_end_until_its_ttl(backend: Backend, clock: FrozenClock) -> None:
    (first,) = await backend.submit([spec(clock, unique_key="k", unique_ttl=100)])
    await backend.cancel(first.task.id)

    clock.advance(50)
    (within,) = await backend.submit([spec(clock, unique_key="k", unique_ttl=100)])
    clock.advance(51)
    (after,) = await backend.submit([spec(clock, unique_key="k", unique_ttl=100)])

    assert within.task.id == first.task.id
    assert not within.created
    assert after.created
    assert after.task.id != first.task.id


async def test_unique_key_holds_past_its_ttl_while_the_task_lives(backend: Backend, clock: FrozenClock) -> None:
    (first,) = await backend.submit([spec(clock, unique_key="k", unique_ttl=10)])

    clock.advance(1000)
    (again,) = await backend.submit([spec(clock, unique_key="k", unique_ttl=10)])

    assert not again.created
    assert again.task.id == first.task.id


async def test_duplicate_keys_inside_one_batch_share_the_first_task(backend: Backend, clock: FrozenClock) -> None:
    results = await backend.submit([spec(clock, unique_key="k"), spec(clock, unique_key="k"), spec(clock)])

    assert [r.created for r in results] == [True, False, True]
    assert results[1].task.id == results[0].task.id
    counts = await backend.counts()
    assert counts[TaskState.PENDING] == 2


async def test_unique_ttl_without_a_key_is_kept_as_submitted(backend: Backend, clock: FrozenClock) -> None:
    # Found by tests/differential: Redis showed the default ttl of a task submitted without a key.
    task = await submit(backend, clock, unique_ttl=5)

    assert task.unique_ttl == 5
    stored = await backend.get(task.id)
    assert stored is not None
    assert stored.unique_ttl == 5
