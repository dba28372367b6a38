"""Waiting for an `asyncio.Event` with a time limit, the one way the project does it.

Python 3.11's `asyncio.wait_for` can lose a cancellation that arrives as the event is set:
the waiter returns as if notified and a loop around it never stops (a server that would
not shut down). `asyncio.timeout` keeps it.
"""

import asyncio


async def wait_event(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until `event` is set, at most `timeout_s`; True if it was set."""
    try:
        async with asyncio.timeout(max(timeout_s, 0.0)):
            await event.wait()
    except TimeoutError:
        return False
    return True
