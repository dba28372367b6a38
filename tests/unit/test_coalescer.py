"""SubmitCoalescer: submits that arrive while a call is in flight share the next call."""

import asyncio

import pytest

from taskline.backends.redis.coalescer import MAX_BATCH, SubmitCoalescer
from taskline.core.clock import FrozenClock
from taskline.core.ids import new_task_id
from taskline.core.task import Submitted, Task, new_task
from taskline.errors import QueueFull
from tests.helpers.seed import spec


class Store:
    """A stand-in for the submit script: records each call, holds it until `release()`,
    and refuses a call of more than `room` tasks as a full queue would."""

    def __init__(self, room: int = 10_000) -> None:
        self.calls: list[list[str]] = []
        self.room = room
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, queue: str, tasks: list[Task]) -> list[Submitted]:
        self.calls.append([t.id for t in tasks])
        await self.gate.wait()
        if len(tasks) > self.room:
            raise QueueFull("full", retry_after_s=1)
        self.room -= len(tasks)
        return [Submitted(task=t, created=True) for t in tasks]


def tasks(n: int) -> list[Task]:
    clock = FrozenClock()
    return [new_task(spec(clock), task_id=new_task_id(), now=clock.now()) for _ in range(n)]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_lone_submit_goes_at_once() -> None:
    store = Store()
    (task,) = tasks(1)

    (outcome,) = await SubmitCoalescer(store).submit("q", [task])

    assert outcome.task.id == task.id
    assert store.calls == [[task.id]]


async def test_submits_arriving_during_a_call_share_the_next_call() -> None:
    store = Store()
    coalescer = SubmitCoalescer(store)
    first, *rest = tasks(4)
    store.gate.clear()
    lead = asyncio.ensure_future(coalescer.submit("q", [first]))
    await settle()
    followers = [asyncio.ensure_future(coalescer.submit("q", [t])) for t in rest]
    await settle()
    store.gate.set()

    results = await asyncio.gather(lead, *followers)

    assert store.calls == [[first.id], [t.id for t in rest]]
    assert [r[0].task.id for r in results] == [first.id] + [t.id for t in rest]


async def test_a_batch_is_bounded_but_a_large_caller_still_goes_whole() -> None:
    store = Store()
    coalescer = SubmitCoalescer(store)
    store.gate.clear()
    lead = asyncio.ensure_future(coalescer.submit("q", tasks(1)))
    await settle()
    big = asyncio.ensure_future(coalescer.submit("q", tasks(MAX_BATCH + 1)))
    small = asyncio.ensure_future(coalescer.submit("q", tasks(1)))
    await settle()
    store.gate.set()

    await asyncio.gather(lead, big, small)

    assert [len(c) for c in store.calls] == [1, MAX_BATCH + 1, 1]


async def test_when_the_shared_call_does_not_fit_each_caller_is_tried_alone() -> None:
    store = Store(room=3)
    coalescer = SubmitCoalescer(store)
    store.gate.clear()
    lead = asyncio.ensure_future(coalescer.submit("q", tasks(1)))
    await settle()
    followers = [asyncio.ensure_future(coalescer.submit("q", tasks(1))) for _ in range(4)]
    await settle()
    store.gate.set()

    outcomes = await asyncio.gather(lead, *followers, return_exceptions=True)

    assert [isinstance(o, QueueFull) for o in outcomes] == [False, False, False, True, True]


async def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    store = Store()
    coalescer = SubmitCoalescer(store)
    store.gate.clear()
    lead = asyncio.ensure_future(coalescer.submit("q", tasks(1)))
    await settle()
    gone = asyncio.ensure_future(coalescer.submit("q", tasks(1)))
    stays = asyncio.ensure_future(coalescer.submit("q", tasks(1)))
    await settle()
    gone.cancel()
    store.gate.set()

    await lead
    (outcome,) = await stays

    assert outcome.created
    assert gone.cancelled()
    assert [len(c) for c in store.calls] == [1, 2]


async def test_an_error_reaches_every_caller_of_the_call() -> None:
    async def broken(queue: str, tasks: list[Task]) -> list[Submitted]:
        raise ConnectionError("redis went away")

    coalescer = SubmitCoalescer(broken)

    with pytest.raises(ConnectionError):
        await coalescer.submit("q", tasks(2))


async def test_a_cancelled_lone_caller_does_not_strand_those_who_came_meanwhile() -> None:
    store = Store()
    coalescer = SubmitCoalescer(store)
    store.gate.clear()
    lead = asyncio.ensure_future(coalescer.submit("q", tasks(1)))
    await settle()
    followers = [asyncio.ensure_future(coalescer.submit("q", tasks(1))) for _ in range(2)]
    await settle()
    lead.cancel()
    await settle()
    store.gate.set()

    outcomes = await asyncio.gather(*followers)

    assert lead.cancelled()
    assert all(o.created for (o,) in outcomes)
    assert [len(c) for c in store.calls] == [1, 2]
