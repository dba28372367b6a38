"""The Taskline handlers of the benchmark: `app` as a user of asyncio writes it (`async def`),
`sync_app` as the README writes it (a plain `def`, run on the worker's handler threads).

    taskline worker bench.peers.taskline_tasks:app        # or :sync_app
"""

from typing import Any

import taskline
from bench.peers import probe

app = taskline.App()
sync_app = taskline.App()


@app.task("noop")
async def noop(payload: dict[str, Any]) -> None:
    await probe.arecord(payload.get("enqueued_at"))


@sync_app.task("noop")
def sync_noop(payload: dict[str, Any]) -> None:
    probe.record(payload.get("enqueued_at"))
