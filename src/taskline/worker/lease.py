"""Keeping one lease alive while its handler runs: heartbeats, progress, cancel, a lost lease."""

import asyncio
import logging
from collections.abc import Callable

from taskline.core.task import Lease
from taskline.errors import LeaseLost, NotFound
from taskline.waiting import wait_event
from taskline.worker.app import TaskContext
from taskline.worker.transport import Transport

log = logging.getLogger("taskline.worker")
MIN_INTERVAL_S = 0.5
MAX_INTERVAL_S = 10.0


class LeaseKeeper:
    """Renews the lease every third of its length, and sooner when the handler reports
    progress. Stops the handler (through `stop_handler`) when the server says its task was
    cancelled or the lease went to someone else; `lost` then tells the runner not to report.

    Most tasks end well within a third of a lease, so the heartbeat loop is only started when
    the first heartbeat falls due (or progress asks for one): a short task costs a timer.
    """

    def __init__(self, transport: Transport, lease: Lease, ctx: TaskContext, stop_handler: Callable[[], None]) -> None:
        self._transport = transport
        self._lease = lease
        self._ctx = ctx
        self._stop_handler = stop_handler
        # Both times are the server's, so the length holds whatever this machine's clock says.
        started_at = lease.task.started_at or lease.expires_at
        self._interval_s = min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, (lease.expires_at - started_at) / 3))
        self._nudged = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._first: asyncio.TimerHandle | None = None
        self._beating: asyncio.Task[None] | None = None
        self._stopped = False
        self.lost = False

    def start(self) -> None:
        self._first = self._loop.call_later(self._interval_s, self._begin)

    def stop(self) -> None:
        self._stopped = True
        if self._first is not None:
            self._first.cancel()
        if self._beating is not None:
            self._beating.cancel()

    def nudge(self) -> None:
        """Bring the next heartbeat forward (progress changed); callable from any thread."""
        self._loop.call_soon_threadsafe(self._on_nudge)

    def _on_nudge(self) -> None:
        self._nudged.set()
        self._begin()

    def _begin(self) -> None:
        if self._beating is None and not self._stopped:
            if self._first is not None:
                self._first.cancel()
            self._beating = self._loop.create_task(self._beat())

    async def _beat(self) -> None:
        sent_progress: float | None = None
        while True:
            self._nudged.clear()
            progress = self._ctx._progress
            try:
                ack = await self._transport.heartbeat(
                    self._lease.task.id, self._lease.token, progress=progress if progress != sent_progress else None
                )
            except (LeaseLost, NotFound):
                log.warning("task %s: lease lost; stopping its handler", self._lease.task.id)
                self.lost = True
                self._stop_handler()
                return
            except Exception as exc:  # the server or the network: keep the handler, try again soon
                log.warning("task %s: heartbeat failed: %s", self._lease.task.id, exc)
            else:
                sent_progress = progress
                if ack.cancel_requested and not self._ctx.cancel_requested:
                    log.info("task %s: cancel requested; stopping its handler", self._lease.task.id)
                    self._ctx.cancel_requested = True
                    self._stop_handler()
            await wait_event(self._nudged, self._interval_s)
