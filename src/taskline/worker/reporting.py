"""`Reporter`: a worker's outcomes on their way to the engine, with its next leases back.

Outcomes that end while a report is on its way go together in the next one (one request or
one store call, however many), and each report asks for as many new leases as the worker will
have room for once its outcomes are in: a busy worker takes its next task with the outcome of
its last, one round trip a task, and polls only when that brought nothing.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from taskline.core.outcomes import MAX_OUTCOMES, LeaseAsk, Outcome, Settled
from taskline.core.task import Lease
from taskline.errors import PayloadTooLarge, TasklineError, ValidationFailed
from taskline.worker.transport import Transport

log = logging.getLogger("taskline.worker")

NextLeases = Callable[[set[str]], LeaseAsk | None]
"""What to lease with a report of these tasks' outcomes (their slots count as free); None: nothing."""

Arrived = Callable[[LeaseAsk | None, list[Lease]], Awaitable[None]]
"""Called with what a report asked for and the leases it brought (none if it failed)."""


@dataclass(slots=True, frozen=True)
class _Waiting:
    outcome: Outcome
    settled: "asyncio.Future[Settled]"


class Reporter:
    """Sends outcomes one report at a time; `run()` must run while anyone reports, and once it
    has stopped every report, waiting or new, fails at once."""

    def __init__(self, transport: Transport, *, next_leases: NextLeases, arrived: Arrived) -> None:
        self._transport = transport
        self._next_leases = next_leases
        self._arrived = arrived
        self._waiting: list[_Waiting] = []
        self._sending: list[_Waiting] = []  # the batch on its way: the engine may have it already
        self._stopped = False
        self._ready = asyncio.Event()

    async def report(self, outcome: Outcome) -> Settled:
        """What became of `outcome`, once the engine took it.

        Raises:
            TasklineError: `run()` stopped before the engine answered (or had stopped already);
                the outcome may not have arrived.
            Exception: what the transport raised; the outcome may not have arrived.
        """
        if self._stopped:
            raise _stopped()
        waiting = _Waiting(outcome, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        self._ready.set()
        return await waiting.settled

    async def run(self) -> None:
        """Send reports until cancelled, each as soon as the one before has its answer."""
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._waiting:
                    self._sending, self._waiting = self._waiting[:MAX_OUTCOMES], self._waiting[MAX_OUTCOMES:]
                    await self._send(self._sending)
                    self._sending = []
        finally:
            # Whoever waits on an outcome, sent or not, hears that no answer will come (its lease
            # runs out and the engine re-delivers), rather than waiting for ever; so does anyone
            # who reports from now on.
            self._stopped = True
            for waiting in (*self._sending, *self._waiting):
                _settle(waiting.settled, error=_stopped())
            self._sending, self._waiting = [], []

    async def _send(self, batch: list[_Waiting]) -> None:
        ask = self._next_leases({w.outcome.task_id for w in batch})
        try:
            settlement = await self._transport.settle([w.outcome for w in batch], then_lease=ask)
        except Exception as exc:
            await self._arrived(ask, [])
            if isinstance(exc, ValidationFailed | PayloadTooLarge) and len(batch) > 1:
                # One outcome the server refuses (an error too long, a result too big) must not
                # lose the others with it: each goes again on its own.
                log.warning("a report of %d outcomes was refused (%s); sending each alone", len(batch), exc)
                for waiting in batch:
                    await self._send([waiting])
                return
            for waiting in batch:
                _settle(waiting.settled, error=exc)
            return
        await self._arrived(ask, settlement.leases)
        if len(settlement.settled) != len(batch):  # never from a sound engine; the outcomes may be lost
            error = TasklineError(f"the engine answered {len(settlement.settled)} of {len(batch)} outcomes")
            for waiting in batch:
                _settle(waiting.settled, error=error)
            return
        for waiting, settled in zip(batch, settlement.settled, strict=True):
            _settle(waiting.settled, value=settled)


def _stopped() -> TasklineError:
    return TasklineError("the worker stopped reporting before the engine answered; the outcome may not have arrived")


def _settle(
    future: "asyncio.Future[Settled]", *, value: Settled | None = None, error: BaseException | None = None
) -> None:
    if future.done():  # its reporter stopped waiting
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert value is not None
        future.set_result(value)
