"""The Taskline handlers of the benchmark, run by `taskline worker bench.peers.taskline_tasks:app`."""

from typing import Any

import taskline
from bench.peers import probe

app = taskline.App()


@app.task("noop")
async def noop(payload: dict[str, Any]) -> None:
    await probe.arecord(payload.get("enqueued_at"))
