"""The handlers the chaos workload runs: each returns (or fails with) its attempt, so the
checker can tell which attempt's outcome stood. What a task does is in its payload."""

import asyncio
from typing import Any

from taskline.worker.app import App, TaskContext
from taskline.worker.outcomes import Fail

app = App()


@app.task("chaos.ok")
def ok(payload: dict[str, Any], ctx: TaskContext) -> dict[str, int]:
    """A plain `def` (a thread of the pool)."""
    return {"attempt": ctx.attempt, "n": payload["n"]}


@app.task("chaos.slow")
async def slow(payload: dict[str, Any], ctx: TaskContext) -> dict[str, int]:
    """Runs long enough (a good part of a lease) to be caught running by a kill or a stop."""
    await asyncio.sleep(payload["seconds"])
    return {"attempt": ctx.attempt, "n": payload["n"]}


@app.task("chaos.flaky")
async def flaky(payload: dict[str, Any], ctx: TaskContext) -> dict[str, int]:
    """Fails its first `fail_times` attempts (retried with the backoff), then succeeds."""
    if ctx.attempt <= payload["fail_times"]:
        raise RuntimeError(f"flaky: attempt {ctx.attempt} fails")
    return {"attempt": ctx.attempt, "n": payload["n"]}


@app.task("chaos.doomed")
async def doomed(payload: dict[str, Any], ctx: TaskContext) -> None:
    """Fails for good at once: to the DLQ whatever retries are left."""
    raise Fail("doomed")
