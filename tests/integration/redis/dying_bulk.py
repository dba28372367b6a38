"""A process that submits a bulk spanning three queues on Redis and SIGKILLs itself at one point
of the bulk's two-phase commit (backends/redis/batches.py), for test_bulk_faults.py:

    python -m tests.integration.redis.dying_bulk URL POINT NOW

POINT is `before:<script>` or `after:<script>`: the process dies as it is about to send, or
just after the reply of, the first call of that script; NOW is its (frozen) clock's time.
"""

import asyncio
import os
import signal
import sys
from typing import Any

from taskline.backends.redis.backend import RedisBackend
from taskline.core.clock import FrozenClock
from tests.helpers.seed import spec

QUEUES = ("alpha", "beta", "gamma")
PER_QUEUE = 4


async def main(url: str, point: str, now: float) -> None:
    clock = FrozenClock(now)
    backend = await RedisBackend.connect(url, clock=clock, wake_ups=False)
    when, script = point.split(":")
    runner = backend._scripts
    run = runner.run

    async def dying_run(name: str, keys: list[str], args: list[Any], **options: Any) -> Any:
        if name == script and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        reply = await run(name, keys, args, **options)
        if name == script and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return reply

    runner.run = dying_run  # type: ignore[method-assign]
    specs = [spec(clock, "bulk", queue=queue, payload={"i": i}) for queue in QUEUES for i in range(PER_QUEUE)]
    await backend.submit(specs)
    sys.exit(f"the bulk was stored without passing {point}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
