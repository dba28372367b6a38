"""Every state change of SPEC §2 as SQL: each method is one `Writer` operation.

A method runs on the writer thread inside its own savepoint, so it may read, decide and
write without races, and raising a `taskline.errors` exception undoes it cleanly. Where a
change touches many fields the task is decoded, changed in Python and saved whole (one
codec, `records`); the hot bulk paths (lease, forward) update only the columns they move.
"""

import heapq
import random
import secrets
import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson

from taskline.backends.sqlite import archive
from taskline.backends.sqlite.queries import QUERIES as Q
from taskline.backends.sqlite.records import decode, encode, to_ms
from taskline.backends.sqlite.writer import Wakeups
from taskline.backends.wakeup import MAX_TIMER_WAIT_S
from taskline.core.clock import Clock
from taskline.core.config import EngineConfig
from taskline.core.ids import new_task_id
from taskline.core.outcomes import Completion, LeaseAsk, Outcome, Settled, Settlement
from taskline.core.priority import order_key
from taskline.core.spec import TaskSpec
from taskline.core.states import CANCELLABLE, RETRYABLE, TERMINAL, TaskState, ensure_transition
from taskline.core.task import AttemptError, HeartbeatAck, Lease, Submitted, Task, new_task, pending_webhook_status
from taskline.errors import InvalidTransition, LeaseLost, NotFound, QueueFull
from taskline.events.types import TERMINAL_EVENTS, EventName

S = TaskState
KEEP_PAYLOAD: Any = object()  # backend.py maps base.UNCHANGED to this, keeping this module protocol-free
_ENDED_AS = {
    S.CANCELLED: EventName.TASK_CANCELLED,
    S.RETRYING: EventName.TASK_RETRYING,
    S.FAILED: EventName.TASK_FAILED,
}


def _deleted(wakeups: Wakeups, rows: list[sqlite3.Row]) -> int:
    """Announce deleted tasks (task.deleted); returns how many."""
    for row in rows:
        wakeups.announce(EventName.TASK_DELETED, decode(row))
    return len(rows)


def _holding_lease(task: Task, token: str) -> Task:
    # A lease that ran out still holds until recover_expired ends it (SPEC §2: late results count).
    if task.state is not S.RUNNING or task.lease_token != token:
        raise LeaseLost(f"the lease on task {task.id} is no longer held with this token")
    return task


class Transitions:
    """The write operations, bound to the engine's tunables, clock and jitter source."""

    def __init__(self, config: EngineConfig, clock: Clock, rng: random.Random) -> None:
        self._config = config
        self._clock = clock
        self._rng = rng  # touched only on the writer thread

    @property
    def archives(self) -> bool:
        """History is on: ends (and final webhook outcomes) go to the archive outbox too."""
        return self._config.archive

    # -- shared steps ---------------------------------------------------------------------

    def _load(self, conn: sqlite3.Connection, task_id: str) -> Task:
        row = conn.execute(Q.get_task, (task_id,)).fetchone()
        if row is None:
            raise NotFound.of("task", task_id)
        return decode(row)

    def _save(self, conn: sqlite3.Connection, task: Task) -> Task:
        row = conn.execute(Q.save_task, encode(task, aging_s=self._config.priority_aging_s)).fetchone()
        return decode(row)

    def _record(
        self, conn: sqlite3.Connection, wakeups: Wakeups, name: EventName, task: Task, *, ran: bool = False
    ) -> Task:
        """Save a changed task and announce it: the one way a transition ends. A terminal state
        of a task with a webhook also writes the delivery to the outbox (SPEC §6), and with
        history on any terminal state writes the task to the archive outbox, in this same
        transaction, so a crash never loses either."""
        delivering = name in TERMINAL_EVENTS and task.webhook is not None
        if delivering:
            task.webhook_status = pending_webhook_status()
        saved = self._save(conn, task)
        if delivering:
            self._add_delivery(conn, name, saved)
        if self._config.archive and name in TERMINAL_EVENTS:
            archive.add(conn, saved, added_ms=to_ms(self._clock.now()))
        wakeups.announce(name, saved, ran=ran)
        return saved

    def _add_delivery(self, conn: sqlite3.Connection, name: EventName, task: Task) -> None:
        row = encode(task, aging_s=self._config.priority_aging_s)
        params = {"id": new_task_id(), "task_id": task.id, "event": name.value, "task": orjson.dumps(row).decode()}
        conn.execute(Q.add_delivery, {**params, "due_ms": to_ms(self._clock.now())})

    def _running_attempt(self, conn: sqlite3.Connection, task_id: str, token: str) -> Task:
        return _holding_lease(self._load(conn, task_id), token)

    def _end_attempt(self, task: Task, now: float, error: str, *, retry: bool, retry_after_s: float | None) -> None:
        """A failed attempt: cancelled if asked to, retrying while retries are left, else failed."""
        task.errors = [*task.errors, AttemptError(attempt=task.attempts, error=error, at=now)]
        task.error = error
        if task.cancel_requested:
            target = S.CANCELLED
        elif retry and task.may_retry:
            target = S.RETRYING
        else:
            target = S.FAILED
        ensure_transition(task.state, target)
        task.state = target
        task.updated_at = now
        task.worker_id = None  # SPEC §1: shown while running only
        task.lease_expires_at = None
        if target is S.RETRYING:
            jitter = self._rng.random()
            backoff_s = self._config.backoff.delay_s(task.attempts_since_retry, jitter)
            task.due_at = now + (retry_after_s if retry_after_s is not None else backoff_s)
        else:
            task.completed_at = now

    def _requeue(self, task: Task, now: float, payload: Any) -> None:
        """failed | cancelled → pending (manual retry): attempts kept, max_retries counted afresh."""
        if task.state not in RETRYABLE:
            raise InvalidTransition(f"only a failed or cancelled task can be retried; this one is {task.state}")
        ensure_transition(task.state, S.PENDING)
        task.state = S.PENDING
        task.retry_base = task.attempts
        task.due_at = now
        task.updated_at = now
        task.completed_at = None
        task.cancel_requested = False
        task.worker_id = None
        task.progress = None
        task.lease_token = None
        task.lease_expires_at = None
        if payload is not KEEP_PAYLOAD:
            task.payload = payload

    # -- submit ---------------------------------------------------------------------------

    def _unique_holder(self, conn: sqlite3.Connection, queue: str, key: str, now: float) -> Task | None:
        row = conn.execute(Q.unique_holder, (queue, key)).fetchone()
        if row is None:
            return None
        holder = decode(row)
        if holder.state not in TERMINAL or now < holder.created_at + holder.unique_ttl:
            return holder
        return None  # ended and past its ttl: the key is free to take over

    def _ensure_room(self, conn: sqlite3.Connection, new: Sequence[Task]) -> None:
        limit = self._config.max_queue_size
        for queue, adding in Counter(task.queue for task in new).items():
            queued = int(conn.execute(Q.queued_in_queue, (queue,)).fetchone()[0])
            if queued + adding > limit:
                raise QueueFull(f"queue {queue!r} holds {queued} waiting tasks; the limit is {limit}", retry_after_s=1)

    def submit(self, conn: sqlite3.Connection, wakeups: Wakeups, specs: Sequence[TaskSpec]) -> list[Submitted]:
        """Store new tasks, all or nothing, honouring unique keys (see `Backend.submit`)."""
        now = self._clock.now()
        claimed: dict[tuple[str, str], int] = {}  # (queue, unique_key) → index into `new`
        slots: list[Task | int] = []  # an existing task, or the index of a task to store
        new: list[Task] = []
        for spec in specs:
            key = (spec.queue, spec.unique_key) if spec.unique_key is not None else None
            if key is not None and key in claimed:
                slots.append(claimed[key])
                continue
            holder = self._unique_holder(conn, *key, now) if key is not None else None
            if holder is not None:
                slots.append(holder)
                continue
            if key is not None:
                claimed[key] = len(new)
            slots.append(len(new))
            new.append(new_task(spec, task_id=new_task_id(), now=now))
        self._ensure_room(conn, new)
        for queue, type_ in dict.fromkeys((task.queue, task.type) for task in new):
            conn.execute(Q.add_queue, (queue,))
            conn.execute(Q.add_queue_type, (queue, type_))
        stored = [self._insert(conn, wakeups, task) for task in new]
        results: list[Submitted] = []
        seen: set[int] = set()
        for slot in slots:
            if isinstance(slot, Task):
                results.append(Submitted(slot, created=False))
            else:
                results.append(Submitted(stored[slot], created=slot not in seen))
                seen.add(slot)
        return results

    def _insert(self, conn: sqlite3.Connection, wakeups: Wakeups, task: Task) -> Task:
        """Store a new task; it is returned as built (new_task makes it as a read of its row would)."""
        conn.execute(Q.insert_task, encode(task, aging_s=self._config.priority_aging_s))
        if task.state is S.PENDING:
            wakeups.ready.add(task.queue)
        else:
            wakeups.timers = True
        wakeups.announce(EventName.TASK_CREATED, task)
        return task

    # -- a worker's side ------------------------------------------------------------------

    def lease(
        self,
        conn: sqlite3.Connection,
        wakeups: Wakeups,
        *,
        worker_id: str,
        queues: Sequence[str] | None,
        types: Sequence[str] | None,
        max: int,
    ) -> list[Lease]:
        """pending → running for the best `max` tasks across the (queue, type) pairs asked for."""
        if max < 1:
            return []
        wanted_queues = None if queues is None else set(queues)
        wanted_types = None if types is None else set(types)
        candidates: list[tuple[int, str]] = []
        for queue, type_ in conn.execute(Q.leasable_pairs).fetchall():
            if (wanted_queues is None or queue in wanted_queues) and (wanted_types is None or type_ in wanted_types):
                best = conn.execute(Q.lease_candidates, (queue, type_, max))
                candidates.extend((key, task_id) for key, task_id in best)
        now_ms = to_ms(self._clock.now())
        lease_end_ms = now_ms + to_ms(self._config.lease_s)
        leases: list[Lease] = []
        for _, task_id in heapq.nsmallest(max, candidates):
            token = secrets.token_hex(16)
            params = {"id": task_id, "worker_id": worker_id, "token": token, "now_ms": now_ms, "end_ms": lease_end_ms}
            task = decode(conn.execute(Q.lease_task, params).fetchone())
            assert task.lease_expires_at is not None
            wakeups.announce(EventName.TASK_STARTED, task)
            leases.append(Lease(task=task, token=token, expires_at=task.lease_expires_at))
        # A deadline sooner than the scheduler's next look must wake it; later ones it will see.
        wakeups.timers |= any(lease.expires_at - now_ms / 1000 < MAX_TIMER_WAIT_S for lease in leases)
        return leases

    def heartbeat(
        self, conn: sqlite3.Connection, wakeups: Wakeups, task_id: str, token: str, progress: float | None
    ) -> HeartbeatAck:
        """Renew the lease up to the attempt's deadline; a renewal only ever moves it later.

        One targeted UPDATE: the row is decoded only to announce a progress report."""
        now_ms = to_ms(self._clock.now())
        params = {"id": task_id, "token": token, "now_ms": now_ms, "end_ms": now_ms + to_ms(self._config.lease_s)}
        row = conn.execute(Q.renew_lease, {**params, "progress": progress}).fetchone()
        if row is None:
            self._running_attempt(conn, task_id, token)  # raises NotFound or LeaseLost, as the case is
            raise AssertionError("a running attempt with this token was not renewed")
        if progress is not None:
            wakeups.announce(EventName.TASK_PROGRESS, decode(row))
        return HeartbeatAck(expires_at=row["lease_expires_ms"] / 1000, cancel_requested=bool(row["cancel_requested"]))

    def complete(self, conn: sqlite3.Connection, wakeups: Wakeups, task_id: str, token: str, result: Any) -> Task:
        """running → completed; the same token again returns the completed task unchanged."""
        task = self._load(conn, task_id)
        if task.state is S.COMPLETED and task.lease_token == token:
            return task
        _holding_lease(task, token)
        ensure_transition(task.state, S.COMPLETED)
        now = self._clock.now()
        task.state = S.COMPLETED
        task.result = result
        task.updated_at = task.completed_at = now
        task.worker_id = None
        task.lease_expires_at = None
        return self._record(conn, wakeups, EventName.TASK_COMPLETED, task, ran=True)

    def fail(
        self,
        conn: sqlite3.Connection,
        wakeups: Wakeups,
        task_id: str,
        token: str,
        *,
        error: str,
        retry: bool,
        retry_after_s: float | None,
    ) -> Task:
        """End the running attempt in failure: → cancelled, retrying or failed."""
        task = self._running_attempt(conn, task_id, token)
        self._end_attempt(task, self._clock.now(), error, retry=retry, retry_after_s=retry_after_s)
        wakeups.timers |= task.state is S.RETRYING
        return self._record(conn, wakeups, _ENDED_AS[task.state], task, ran=True)

    def settle(
        self,
        conn: sqlite3.Connection,
        wakeups: Wakeups,
        outcomes: Sequence[Outcome],
        then_lease: LeaseAsk | None,
        with_tasks: bool,
    ) -> Settlement:
        """Each outcome as `complete` or `fail` (one refused alone), then the lease asked for."""
        settled = []
        for outcome in outcomes:
            try:
                # Both refuse (NotFound, LeaseLost) before writing anything, so nothing needs undoing.
                if isinstance(outcome, Completion):
                    task = self.complete(conn, wakeups, outcome.task_id, outcome.token, outcome.result)
                else:
                    task = self.fail(
                        conn, wakeups, outcome.task_id, outcome.token,
                        error=outcome.error, retry=outcome.retry, retry_after_s=outcome.retry_after_s,
                    )  # fmt: skip
            except (NotFound, LeaseLost) as refused:
                settled.append(Settled(outcome.task_id, refused=refused))
                continue
            settled.append(Settled(task.id, task.state, task=task if with_tasks else None))
        leases = []
        if then_lease is not None:
            leases = self.lease(
                conn, wakeups, worker_id=then_lease.worker_id, queues=then_lease.queues, types=then_lease.types,
                max=then_lease.max,
            )  # fmt: skip
        return Settlement(settled, leases)

    def release(self, conn: sqlite3.Connection, wakeups: Wakeups, task_id: str, token: str) -> Task:
        """running → pending, giving the attempt back; a task whose cancel was asked ends cancelled."""
        task = self._running_attempt(conn, task_id, token)
        now = self._clock.now()
        target = S.CANCELLED if task.cancel_requested else S.PENDING
        ensure_transition(task.state, target)
        task.state = target
        task.updated_at = now
        task.worker_id = None
        task.lease_token = None
        task.lease_expires_at = None
        if target is S.CANCELLED:
            task.completed_at = now
        else:
            task.attempts -= 1
            task.started_at = None
            task.progress = None
            wakeups.ready.add(task.queue)
        name = EventName.TASK_CANCELLED if target is S.CANCELLED else EventName.TASK_PENDING
        return self._record(conn, wakeups, name, task)

    # -- a producer's and an admin's side -------------------------------------------------

    def cancel(self, conn: sqlite3.Connection, wakeups: Wakeups, task_id: str) -> Task:
        """Waiting → cancelled; running → cancel_requested (the attempt decides how it ends)."""
        task = self._load(conn, task_id)
        now = self._clock.now()
        if task.state is S.RUNNING:
            if task.cancel_requested:
                return task
            task.cancel_requested = True
            task.updated_at = now
            return self._save(conn, task)
        ensure_transition(task.state, S.CANCELLED)  # terminal tasks raise InvalidTransition here
        assert task.state in CANCELLABLE
        task.state = S.CANCELLED
        task.completed_at = now
        task.updated_at = now
        return self._record(conn, wakeups, EventName.TASK_CANCELLED, task)

    def retry(self, conn: sqlite3.Connection, wakeups: Wakeups, task_id: str, payload: Any) -> Task:
        """failed | cancelled → pending, never refused for queue size."""
        task = self._load(conn, task_id)
        self._requeue(task, self._clock.now(), payload)
        wakeups.ready.add(task.queue)
        return self._record(conn, wakeups, EventName.TASK_PENDING, task)

    def dlq_retry(self, conn: sqlite3.Connection, wakeups: Wakeups, ids: Sequence[str] | None) -> int:
        """failed → pending for the listed failed tasks (None: every one); returns how many."""
        if ids is None:
            failed = [decode(row) for row in conn.execute(Q.dlq_all).fetchall()]
        else:
            rows = (conn.execute(Q.get_task, (task_id,)).fetchone() for task_id in dict.fromkeys(ids))
            failed = [task for task in (decode(row) for row in rows if row is not None) if task.state is S.FAILED]
        now = self._clock.now()
        for task in failed:
            self._requeue(task, now, KEEP_PAYLOAD)
            self._record(conn, wakeups, EventName.TASK_PENDING, task)
            wakeups.ready.add(task.queue)
        return len(failed)

    def dlq_delete(self, conn: sqlite3.Connection, wakeups: Wakeups) -> int:
        """Delete every failed task; returns how many."""
        return _deleted(wakeups, conn.execute(Q.dlq_delete).fetchall())

    def purge(self, conn: sqlite3.Connection, wakeups: Wakeups, queue: str, priority: int | None) -> int:
        """Delete a queue's pending tasks (of one priority, or all); returns how many."""
        return _deleted(wakeups, conn.execute(Q.purge_pending, {"queue": queue, "priority": priority}).fetchall())

    def set_paused(self, conn: sqlite3.Connection, wakeups: Wakeups, queue: str, paused: bool) -> None:
        """Pause a queue (making it known if it was not: it may be paused before its first
        submit), or resume one; resuming wakes its watchers. Resuming a queue nobody knows
        leaves it unknown, as on Redis: `GET /queues` lists no queue a resume made up."""
        if paused:
            conn.execute(Q.set_paused, {"queue": queue, "paused": 1})
        else:
            conn.execute(Q.resume_queue, {"queue": queue})
            wakeups.ready.add(queue)

    # -- the scheduler's side -------------------------------------------------------------

    def forward_due(self, conn: sqlite3.Connection, wakeups: Wakeups, limit: int) -> int:
        """scheduled | retrying → pending for tasks due by now, earliest first."""
        now_ms = to_ms(self._clock.now())
        due = conn.execute(Q.due_tasks, (now_ms, limit)).fetchall()
        aging_s = self._config.priority_aging_s
        for task_id, queue, priority, due_ms in due:
            key = order_key(priority, due_ms, aging_s)
            row = conn.execute(Q.make_pending, {"id": task_id, "now_ms": now_ms, "order_key": key}).fetchone()
            wakeups.announce(EventName.TASK_PENDING, decode(row))
            wakeups.ready.add(queue)
        return len(due)

    def recover_expired(self, conn: sqlite3.Connection, wakeups: Wakeups, limit: int) -> int:
        """Running tasks past their lease: a failed attempt (`timeout` or `lease expired`)."""
        now = self._clock.now()
        expired = [decode(row) for row in conn.execute(Q.expired_leases, (to_ms(now), limit)).fetchall()]
        for task in expired:
            assert task.deadline is not None
            error = "timeout" if now >= task.deadline else "lease expired"
            self._end_attempt(task, now, error, retry=True, retry_after_s=None)
            self._record(conn, wakeups, _ENDED_AS[task.state], task, ran=True)
            wakeups.timers = wakeups.timers or task.state is S.RETRYING
        return len(expired)

    def trim_retention(self, conn: sqlite3.Connection, wakeups: Wakeups, limit: int) -> int:
        """Delete finished tasks past retention (completed, cancelled) or DLQ retention (failed)."""
        now = self._clock.now()
        finished = conn.execute(Q.trim_finished, (to_ms(now - self._config.retention_s), limit)).rowcount
        dead = conn.execute(Q.trim_dead, (to_ms(now - self._config.dlq_retention_s), limit - finished)).rowcount
        return finished + dead
