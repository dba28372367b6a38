"""Handlers that `taskline worker` child processes run in the process tests."""

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from taskline.worker.app import App, TaskContext

app = App()


@app.task("add")
def add(payload: dict[str, int]) -> int:
    return payload["a"] + payload["b"]


@app.task("hang")
async def hang(payload: Any, ctx: TaskContext) -> str:
    """Reports progress 1, then hangs in a worker started with HANG_FOR_TEST set."""
    ctx.progress(1)
    if os.environ.get("HANG_FOR_TEST"):
        await asyncio.Event().wait()
    return "finished"


@app.task("gate")
def gate(payload: dict[str, str], ctx: TaskContext) -> str:
    """Reports progress 1 (from its thread), then runs until the file named by the payload exists."""
    ctx.progress(1)
    while not Path(payload["file"]).exists():
        time.sleep(0.02)
    return "through"


@app.task("flaky_once")
async def flaky_once(payload: Any, ctx: TaskContext) -> int:
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails")
    return ctx.attempt
