"""`Worker`: takes tasks through a transport and runs them, up to `concurrency` at once.

Where work comes from: weighted queues are tried in a weighted random order (asynq's way),
so a queue of weight 6 is looked at first six times as often as one of weight 1 and no
queue with work starves; when none has work, one long poll over all of them waits for the
next task. A busy worker seldom polls: each report of outcomes (`reporting.Reporter`) leases
the next tasks for the slots it frees. Shutdown (`stop()`) takes no more tasks, lets running
ones finish for `shutdown_timeout`, then stops the rest and hands them back without using up
an attempt.
While paused (its `Presence` in the worker registry says so) it takes no tasks either, and
lets running ones finish.
"""

import asyncio
import logging
import multiprocessing
import os
import random
import signal
import socket
import uuid
from collections.abc import Awaitable, Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from taskline.core.backoff import Backoff
from taskline.core.jsonvalue import NotJson, encoded_size
from taskline.core.outcomes import MAX_NEXT, Completion, Failure, LeaseAsk, Outcome, error_text
from taskline.core.task import Lease
from taskline.core.workers import WorkerDetails
from taskline.errors import BackendUnavailable, LeaseLost, NotFound, RetryLater, TasklineError
from taskline.worker.app import App, Handler, TaskContext
from taskline.worker.lease import LeaseKeeper
from taskline.worker.outcomes import Fail, Retry
from taskline.worker.presence import Presence
from taskline.worker.reporting import Reporter
from taskline.worker.threads import HandlerThreads
from taskline.worker.transport import Transport

log = logging.getLogger("taskline.worker")
POLL_WAIT_S = 30.0
# A report that finds the server or Redis away is sent again after these waits (doubling),
# for as long as its lease lasts: an API instance or a Redis restarting for a moment must not
# cost a finished attempt (run again, or a task without retries left in the DLQ).
REPORT_RETRY = Backoff(base_s=0.1, cap_s=2.0)
HAND_BACK_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class WeightedQueue:
    name: str
    weight: int = 1


@dataclass(slots=True)
class Attempt:
    """One leased task on this worker, and its handler's run once started."""

    lease: Lease
    run: "asyncio.Future[Any] | None" = None
    # Done once a sync handler's thread or process has returned, which may be long after its run was cancelled.
    busy: "asyncio.Future[Any] | None" = None

    def stop(self) -> None:
        if self.run is not None:
            self.run.cancel()


def parse_queues(text: str) -> list[WeightedQueue]:
    """`"high:6,default:3,low"` → queues with weights (1 when omitted)."""
    queues = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, weight = item.partition(":")
        if not weight.isdigit() or int(weight) < 1:
            if weight:
                raise ValueError(f"queue weight must be a whole number ≥ 1: {item!r}")
            weight = "1"
        queues.append(WeightedQueue(name, int(weight)))
    return queues


def check_types(app: App, types: Sequence[str] | None) -> None:
    """Refuse types without a handler: a task leased without one would use up an attempt."""
    if unknown := sorted(set(types or ()) - set(app.handlers)):
        raise ValueError(f"no handler for types {unknown}; handlers: {sorted(app.handlers)}")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        app: App,
        transport: Transport,
        *,
        concurrency: int = 10,
        queues: Sequence[WeightedQueue] = (),
        types: Sequence[str] | None = None,
        worker_id: str | None = None,
        shutdown_timeout_s: float = 30.0,
        poll_wait_s: float = POLL_WAIT_S,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.app = app
        self.transport = transport
        self.concurrency = concurrency
        self.queues = list(queues)
        # Lease only what this worker can run: a task leased without a handler would use up an attempt.
        check_types(app, types)
        self.types = list(types) if types else sorted(app.handlers)
        self.worker_id = worker_id or default_worker_id()
        self._queue_names = [q.name for q in self.queues] or None
        # Weights only matter between queues whose weights differ.
        self._weighted = len(self.queues) > 1 and len({q.weight for q in self.queues}) > 1
        self._host, self._pid = socket.gethostname(), os.getpid()
        self.shutdown_timeout_s = shutdown_timeout_s
        self.poll_wait_s = poll_wait_s
        self.processed = 0
        self.failed = 0
        self._running: dict[asyncio.Task[None], Attempt] = {}
        # Leases asked for by a poll or a report still on its way: their slots are spoken for.
        self._asked = 0
        self._reporter = Reporter(transport, next_leases=self._next_leases, arrived=self._arrived)
        self._room = asyncio.Event()
        self._stopping = asyncio.Event()
        self._failed_polls = 0  # in a row: how long the next pause is
        self._threads = HandlerThreads(concurrency, name="taskline-handler")
        self._processes: ProcessPoolExecutor | None = None
        self.presence = Presence(transport, self.worker_id, self._details)

    def stop(self) -> None:
        """Begin a graceful shutdown: no new tasks; `run()` returns once running ones are done
        or handed back."""
        self._stopping.set()

    async def run(self) -> None:
        """Take and run tasks until `stop()`."""
        log.info(
            "worker %s: concurrency %d, queues %s, types %s",
            self.worker_id,
            self.concurrency,
            ",".join(f"{q.name}:{q.weight}" for q in self.queues) or "all",
            ",".join(self.types),
        )
        await self.presence.beat()  # registered before the first poll
        beating = asyncio.ensure_future(self.presence.run())
        reporting = asyncio.ensure_future(self._reporter.run())
        try:
            while not self._stopping.is_set():
                if self.presence.paused:
                    await _first(self.presence.wait_active(), self._stopping.wait())
                    continue
                free = self.concurrency - len(self._running) - self._asked
                if free <= 0:
                    self._room.clear()
                    await _first(self._room.wait(), self._stopping.wait())
                    continue
                self._asked += free
                try:
                    leases = await self._take(free)
                finally:
                    self._asked -= free
                for lease in leases:  # no await since the count went down: no report leases meanwhile
                    self._start(lease)
        finally:
            await self._finish()
            for duty in (beating, reporting):
                duty.cancel()
            await asyncio.gather(beating, reporting, return_exceptions=True)
            await self.presence.leave()

    def _details(self) -> WorkerDetails:
        return WorkerDetails(
            host=self._host,
            pid=self._pid,
            queues=[q.name for q in self.queues],
            types=self.types,
            concurrency=self.concurrency,
            active=len(self._running),
            processed=self.processed,
            failed=self.failed,
        )

    async def _take(self, free: int) -> list[Lease]:
        """Up to `free` leases, or none once stopping. A poll cut short by `stop()` hands back
        what it leased (the transports see to that)."""
        poll = asyncio.ensure_future(self._poll(free))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not poll.done():
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)
            return []
        try:
            leases = poll.result()
        except TasklineError as exc:  # the server is away or refused: try again later rather than spin
            log.warning("worker %s: poll failed: %s", self.worker_id, exc)
        except Exception:  # an answer we could not read: the loop must outlive it all the same
            log.exception("worker %s: poll failed", self.worker_id)
        else:
            self._failed_polls = 0
            return leases
        self._failed_polls += 1
        await _first(asyncio.sleep(_poll_pause_s(self._failed_polls)), self._stopping.wait())
        return []

    async def _poll(self, free: int) -> list[Lease]:
        names = self._queue_names
        if self._weighted:
            for queue in _weighted_order(self.queues):
                leases = await self._lease([queue], free, wait_s=0)
                if leases:
                    return leases
        return await self._lease(names, free, wait_s=self.poll_wait_s)

    async def _lease(self, queues: list[str] | None, free: int, *, wait_s: float) -> list[Lease]:
        return await self.transport.poll(
            worker_id=self.worker_id, queues=queues, types=self.types, wait_s=wait_s, max=free
        )

    def _start(self, lease: Lease) -> None:
        attempt = Attempt(lease)
        task = asyncio.ensure_future(self._execute(attempt))
        self._running[task] = attempt
        task.add_done_callback(self._finished)

    def _finished(self, task: "asyncio.Task[None]") -> None:
        busy = self._running[task].busy
        if busy is not None and not busy.done():
            # A thread can't be stopped: its slot stays taken until the abandoned handler
            # returns, or the next task would wait behind it while its own timeout runs.
            busy.add_done_callback(lambda _: self._free(task))
            return
        self._free(task)

    def _free(self, task: "asyncio.Task[None]") -> None:
        self._running.pop(task, None)
        self._room.set()

    async def _execute(self, attempt: Attempt) -> None:
        """Run one leased task and report its outcome."""
        lease = attempt.lease
        handler = self.app.handlers.get(lease.task.type)
        if handler is None:
            await self._fail(lease, f"no handler for type {lease.task.type!r}", retry=True)
            return
        ctx = TaskContext(lease.task)
        attempt.run = self._call(handler, ctx, attempt)
        keeper = LeaseKeeper(self.transport, lease, ctx, stop_handler=attempt.stop)
        ctx._on_progress = keeper.nudge
        keeper.start()
        try:
            # The attempt began when it was leased, a moment ago: timing it here from `timeout`
            # keeps it right whatever the skew between this machine's clock and the server's.
            async with asyncio.timeout(lease.task.timeout):
                result = await attempt.run
        except TimeoutError:
            report = partial(self._fail, lease, "timeout", retry=True)
        except asyncio.CancelledError:
            keeper.stop()
            await self._after_stop(lease, keeper, ctx)
            if _being_cancelled():
                raise
            return
        except Retry as retry:
            report = partial(self._fail, lease, str(retry), retry=True, retry_after_s=retry.after)
        except Fail as fail:
            report = partial(self._fail, lease, str(fail) or "failed", retry=False)
        except Exception as exc:
            report = partial(self._fail, lease, _describe(exc), retry=True)
        else:
            report = partial(self._complete, lease, result)
        finally:
            keeper.stop()  # before the outcome, so no heartbeat races it into a false "lease lost"
        await report()

    async def _after_stop(self, lease: Lease, keeper: LeaseKeeper, ctx: TaskContext) -> None:
        """The handler was stopped: by a cancel, a lost lease, or a shutdown that ran out of time."""
        if keeper.lost:
            return
        if ctx.cancel_requested:
            await self._fail(lease, "cancelled", retry=False)
        else:
            await self._send(lease, self.transport.release(lease.task.id, lease.token))

    async def _complete(self, lease: Lease, result: Any) -> None:
        try:
            encoded_size(result)  # the server's rule for a result, so it is not refused there
        except NotJson as exc:
            await self._fail(lease, f"result {exc}", retry=False)
            return
        await self._report(lease, Completion(lease.task.id, lease.token, result))
        self.processed += 1

    async def _fail(self, lease: Lease, error: str, *, retry: bool, retry_after_s: float | None = None) -> None:
        self.failed += 1
        # Cut and made well-formed as the server takes it: a refused report would lose the attempt.
        failure = Failure(lease.task.id, lease.token, error_text(error), retry, retry_after_s)
        await self._report(lease, failure)

    async def _report(self, lease: Lease, outcome: Outcome) -> None:
        """Report `outcome`; while the engine is unreachable, again, until a lease's length has
        passed. Sending it twice is safe: a repeated `complete` is answered as the first was,
        and a `fail` that got through before makes the next one a lease_lost."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + _lease_length_s(lease)
        tries = 0
        while True:
            tries += 1
            try:
                settled = await self._reporter.report(outcome)
            except (BackendUnavailable, RetryLater) as exc:
                wait_s = REPORT_RETRY.ceiling_s(tries)
                if loop.time() + wait_s > give_up_at:
                    log.error("task %s: could not report its outcome: %s; it runs again", outcome.task_id, exc)
                    return
                log.warning("task %s: could not report its outcome (%s); trying again", outcome.task_id, exc)
                await asyncio.sleep(wait_s)  # backoff; the engine says when it is back only by answering
                continue
            except Exception as exc:  # the lease runs out and the server re-delivers: nothing is lost
                log.error("task %s: could not report its outcome: %s", outcome.task_id, exc)
                return
            if settled.refused is not None:
                log.warning("task %s: its lease was lost before the outcome arrived", outcome.task_id)
            return

    def _next_leases(self, finishing: set[str]) -> LeaseAsk | None:
        """What a report of the `finishing` tasks' outcomes asks leased: a slot for each slot
        free once they are in (a slot a stopped handler's thread still holds is not)."""
        if self._stopping.is_set() or self.presence.paused:
            return None
        held = sum(
            1
            for attempt in self._running.values()
            if attempt.lease.task.id not in finishing or (attempt.busy is not None and not attempt.busy.done())
        )
        room = min(self.concurrency - held - self._asked, MAX_NEXT)
        if room <= 0:
            return None
        self._asked += room
        # Weighted queues: a report tries the queue first in a weighted draw; the poll that follows
        # a report which brought nothing tries them all.
        queues = _weighted_order(self.queues)[:1] if self._weighted else self._queue_names
        return LeaseAsk(self.worker_id, room, queues, self.types)

    async def _arrived(self, asked: LeaseAsk | None, leases: list[Lease]) -> None:
        if asked is not None:
            self._asked -= asked.max
        if self._stopping.is_set():
            # Asked for before the stop: the shutdown does not wait for these, so they go back unstarted.
            for lease in leases:
                await self._send(lease, self.transport.release(lease.task.id, lease.token))
            return
        for lease in leases:
            self._start(lease)

    async def _send(self, lease: Lease, outcome: Awaitable[None]) -> None:
        try:
            await outcome
        except (LeaseLost, NotFound):
            log.warning("task %s: its lease was lost before the outcome arrived", lease.task.id)
        except Exception as exc:  # the lease runs out and the server re-delivers: nothing is lost
            log.error("task %s: could not report its outcome: %s", lease.task.id, exc)

    def _call(self, handler: Handler, ctx: TaskContext, attempt: Attempt) -> "asyncio.Future[Any]":
        """Start the handler; the future is its result, and cancelling it stops the handler (or,
        in a thread or process, skips a call not yet started)."""
        args = handler.arguments(ctx)
        if handler.runs == "loop":
            coroutine: Coroutine[Any, Any, Any] = handler.function(*args)
            return asyncio.ensure_future(coroutine)
        if handler.runs == "thread":
            job = self._threads.submit(handler.function, *args)
            attempt.busy = job.finished
            return job.result
        loop = asyncio.get_running_loop()
        try:
            if self._processes is None:
                # Spawned, not forked from a process with threads, and deaf to the signals
                # meant for this worker, which decides itself how its tasks end.
                self._processes = ProcessPoolExecutor(
                    self.concurrency, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_signals
                )
            running = self._processes.submit(handler.function, *args)
        except Exception as exc:  # a broken pool: this attempt fails, the worker goes on
            failed = loop.create_future()
            failed.set_exception(exc)
            return failed
        attempt.busy = loop.create_future()
        running.add_done_callback(lambda _: loop.is_closed() or loop.call_soon_threadsafe(_settle, attempt.busy))
        return asyncio.wrap_future(running)

    async def _finish(self) -> None:
        try:
            await self._wind_down()
        finally:  # even if the wait is cut short: idle handler threads would keep the process alive
            self._threads.shutdown()
            if self._processes is not None:
                self._processes.shutdown(wait=False, cancel_futures=True)

    async def _wind_down(self) -> None:
        running = set(self._running)
        if running:
            log.info("worker %s: waiting up to %.0fs for %d running tasks", self.worker_id, self.shutdown_timeout_s,
                     len(running))  # fmt: skip
            _, unfinished = await asyncio.wait(running, timeout=self.shutdown_timeout_s)
            if unfinished:
                log.warning("worker %s: handing back %d unfinished tasks", self.worker_id, len(unfinished))
                for task in unfinished:
                    self._running[task].stop()
                _, stuck = await asyncio.wait(unfinished, timeout=HAND_BACK_TIMEOUT_S)
                if stuck:  # a handler that ignores cancellation, or a server that does not answer
                    log.error("worker %s: %d tasks not handed back; their leases will run out", self.worker_id,
                              len(stuck))  # fmt: skip


def _lease_length_s(lease: Lease) -> float:
    """How long the lease runs from its attempt's start, in the server's own times (so this
    machine's clock skew does not matter)."""
    started_at = lease.task.started_at or lease.expires_at
    return max(lease.expires_at - started_at, 0.0)


def _weighted_order(queues: Sequence[WeightedQueue]) -> list[str]:
    """A random order where a queue comes first in proportion to its weight (Efraimidis–Spirakis)."""
    keyed = sorted(queues, key=lambda q: random.random() ** (1 / q.weight), reverse=True)
    return [q.name for q in keyed]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _settle(future: "asyncio.Future[Any] | None") -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


POLL_BACKOFF = Backoff(base_s=0.5, cap_s=5.0)
"""The pause after failed polls in a row: 0.5, 1, 2, 4, then 5 s at most, each drawn between
half and all of it, so a fleet whose server went away does not come back in step, and a worker
is back within 5 s of the server."""


def _poll_pause_s(failed_polls: int) -> float:
    return POLL_BACKOFF.delay_s(failed_polls, random.uniform(0.5, 1.0))


async def _first(*waits: Any) -> None:
    """Wait until the first of `waits` is done; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
