"""`Presence`: a worker's standing in the worker registry (SPEC §5 "workers register and
heartbeat"): it reports itself about once a second and learns from the answer whether it is
paused, so a pause or resume reaches it within a second."""

import asyncio
import logging
from collections.abc import Callable

from taskline.core.workers import WorkerDetails, WorkerState
from taskline.worker.transport import Transport

log = logging.getLogger("taskline.worker")
BEAT_S = 1.0


class Presence:
    """Heartbeats one worker's details; `paused` and `wait_active()` tell the runner when to take tasks."""

    def __init__(
        self, transport: Transport, worker_id: str, describe: Callable[[], WorkerDetails], *, beat_s: float = BEAT_S
    ) -> None:
        self._transport = transport
        self._worker_id = worker_id
        self._describe = describe
        self._beat_s = beat_s
        self._active = asyncio.Event()
        self._active.set()
        self._reachable = True

    @property
    def paused(self) -> bool:
        return not self._active.is_set()

    async def wait_active(self) -> None:
        """Return once the worker is not paused."""
        await self._active.wait()

    async def beat(self) -> None:
        """Report once. Failing to reach the server changes nothing: the worker keeps its state."""
        try:
            state = await self._transport.worker_heartbeat(self._worker_id, self._describe())
        except Exception as exc:  # the server or the network; the next beat tries again
            if self._reachable:
                log.warning("worker %s: cannot report to the worker registry: %s", self._worker_id, exc)
            self._reachable = False
            return
        self._reachable = True
        if state is WorkerState.PAUSED and not self.paused:
            log.info("worker %s: paused; taking no new tasks", self._worker_id)
            self._active.clear()
        elif state is WorkerState.ACTIVE and self.paused:
            log.info("worker %s: resumed", self._worker_id)
            self._active.set()

    async def run(self) -> None:
        """Beat every `beat_s` until cancelled (the first beat is the caller's, at start)."""
        while True:
            await asyncio.sleep(self._beat_s)
            await self.beat()

    async def leave(self) -> None:
        """Tell the registry this worker has shut down."""
        try:
            await self._transport.worker_left(self._worker_id)
        except Exception as exc:  # it drops off the list a minute after its last beat anyway
            log.warning("worker %s: could not say it left: %s", self._worker_id, exc)
