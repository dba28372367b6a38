"""`echo` and `sleep`: the payload back, a sleep that validates its input and stops when cancelled."""

import asyncio
import inspect
from typing import Any

import pytest

from taskline.config import Settings
from taskline.worker.builtin import builtin_handlers, echo, sleep
from taskline.worker.outcomes import Fail


def test_every_builtin_is_registered_by_its_task_type() -> None:
    handlers = builtin_handlers(Settings())

    assert sorted(handlers) == ["echo", "email", "http", "sleep"]
    assert all(inspect.iscoroutinefunction(handler) for handler in handlers.values())


@pytest.mark.parametrize("payload", [None, 0, "text", [1, "two"], {"nested": {"list": [1.5, None, True]}}])
async def test_echo_returns_the_payload_unchanged(payload: Any) -> None:
    assert await echo(payload) == payload


@pytest.mark.parametrize("seconds", [0, 0.05])
async def test_sleep_sleeps_and_says_how_long(seconds: float) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    result = await sleep({"seconds": seconds})

    assert result == {"slept": seconds}
    assert loop.time() - started >= seconds * 0.8  # the loop's timer may fire a clock tick early


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ({}, "missing"),
        ({"seconds": -1}, "seconds must be a number ≥ 0"),
        ({"seconds": "5"}, "seconds must be a number"),
        ({"seconds": True}, "seconds must be a number"),
        ({"seconds": float("inf")}, "seconds must be a number"),
        ({"seconds": 1, "minutes": 2}, "unknown field"),
        ([1], "payload must be an object"),
    ],
)
async def test_sleep_refuses_bad_input_for_good(payload: Any, complaint: str) -> None:
    with pytest.raises(Fail, match=complaint):
        await sleep(payload)


async def test_a_cancelled_sleep_stops_at_once() -> None:
    task = asyncio.create_task(sleep({"seconds": 3600}))
    await asyncio.sleep(0)  # let it start sleeping

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_a_sleep_past_its_deadline_is_cut_short() -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await sleep({"seconds": 3600})
