"""Built-in handlers. (Placeholder with echo and sleep; the full set lands with the handlers branch.)"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from taskline.config import Settings
from taskline.worker.outcomes import Fail


async def echo(payload: Any) -> Any:
    return payload


async def sleep(payload: Any) -> Any:
    seconds = payload.get("seconds") if isinstance(payload, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise Fail('sleep needs {"seconds": a number ≥ 0}')
    await asyncio.sleep(seconds)
    return {"slept": seconds}


def builtin_handlers(settings: Settings) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    return {"echo": echo, "sleep": sleep}
