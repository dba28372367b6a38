"""The archiver: copies the live backend's archive outbox into PostgreSQL, off the hot path.

A pass reads up to `batch` entries, upserts them in one transaction, then drops exactly those
entries from the outbox. Any number of servers may run one on the same store: two that read
the same entries write the same rows (the upsert is idempotent) and drop the same entries
(a drop of one already gone is a no-op), so nothing is lost or multiplied. A row is only
replaced by an end at least as new (`updated_at`), so an older end read late — say a task
retried by hand, whose second end another server archived first — never overwrites a newer.

PostgreSQL down: the pass fails before anything is dropped, the entries wait in the outbox,
and the archiver tries again with a growing pause, logging once when the outage starts and
once when it ends. The API never waits on any of this.

One bad entry (a record that does not decode, a row PostgreSQL refuses as data) must not stop
the others for good: the batch is then written row by row, the good rows archived, and each bad
one logged with its task id, counted (`set_aside`) and dropped from the outbox with the rest.
Any other error (PostgreSQL unreachable, the table missing, no permission) drops nothing.
"""

import asyncio
import logging
import time
from collections.abc import Sequence

from taskline.backends.base import Backend
from taskline.core.archive import HISTORY_ON_TTL_S, ArchiveEntry
from taskline.core.task import Task
from taskline.errors import TasklineError
from taskline.history.rows import COLUMNS, row_of
from taskline.history.store import HistoryStore

log = logging.getLogger("taskline.history")

BATCH = 500
IDLE_S = 0.5
"""How often an archiver with nothing to do looks again: how stale history may be when idle."""
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 5.0
KEEP_ON_EVERY_S = 10.0
"""How often the archiver renews the store's history flag (which lasts HISTORY_ON_TTL_S)."""

_UPSERT = (
    f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in COLUMNS[1:])}, archived_at = now() "
    # An older end never replaces a newer one; of two copies of one end (same updated_at), the
    # one with the webhook's final status (sent again once delivered or failed) is not replaced
    # by the one taken at the end with the delivery pending, whichever an archiver reads last.
    "WHERE tasks.updated_at < EXCLUDED.updated_at OR (tasks.updated_at = EXCLUDED.updated_at "
    "AND NOT (coalesce(tasks.webhook_status->>'state', 'pending') <> 'pending' "
    "AND EXCLUDED.webhook_status->>'state' = 'pending'))"
)


def newest_ends(tasks: Sequence[Task]) -> list[Task]:
    """One task per id, its latest end, in first-seen order (a batch may hold two ends of one task)."""
    newest: dict[str, Task] = {}
    for task in tasks:
        if task.id not in newest or task.updated_at >= newest[task.id].updated_at:
            newest[task.id] = task
    return list(newest.values())


class Archiver:
    """`run()` until cancelled; `archived` counts the entries this process copied and
    `set_aside` the ones it dropped unarchived as bad (both for /metrics)."""

    def __init__(self, backend: Backend, store: HistoryStore, *, batch: int = BATCH, idle_s: float = IDLE_S) -> None:
        self._backend = backend
        self._store = store
        self._batch = batch
        self._idle_s = idle_s
        self.archived = 0
        self.set_aside = 0
        self.live_failed = False
        """Whether the last failed pass failed on the live backend (not on PostgreSQL)."""
        self._failing = False
        self._kept_on_at = float("-inf")

    async def archive_once(self) -> int:
        """One pass: copy up to `batch` entries and drop them; returns how many were handled
        (copied, or set aside as bad).

        Raises:
            BackendUnavailable: PostgreSQL or the live backend cannot be reached (nothing dropped).
        """
        self.live_failed = True  # until the read is done, a failure is the live backend's
        if time.monotonic() - self._kept_on_at >= KEEP_ON_EVERY_S:
            # Whether PostgreSQL answers or not: the other processes must keep writing the outbox.
            await self._backend.keep_history_on(HISTORY_ON_TTL_S)
            self._kept_on_at = time.monotonic()
        entries = await self._backend.read_archive(limit=self._batch)
        self.live_failed = False
        if not entries:
            return 0
        bad = await self._copy(entries)
        self.live_failed = True  # copied but not dropped: the next pass writes the same rows again
        await self._backend.drop_archived(entries)
        self.live_failed = False
        for task_id, queue, problem in bad:
            log.error(
                "PostgreSQL history: the end of task %s (queue %r) cannot be archived and was set aside: %s",
                task_id or "?",
                queue,
                problem,
            )
        self.archived += len(entries) - len(bad)
        self.set_aside += len(bad)
        return len(entries)

    async def _copy(self, entries: Sequence[ArchiveEntry]) -> list[tuple[str, str, str]]:
        """Upsert the entries' ends; returns the ones that cannot be archived (task id, queue, why).

        Raises:
            BackendUnavailable, or any error that is not about one row's data: nothing is set aside.
        """
        bad = [(e.task_id, e.queue, e.problem or "unreadable") for e in entries if e.task is None]
        rows: list[tuple[Task, tuple[object, ...]]] = []
        for task in newest_ends([e.task for e in entries if e.task is not None]):
            try:
                rows.append((task, row_of(task)))
            except Exception as exc:  # a field no column takes: this end's fault alone
                bad.append((task.id, task.queue, repr(exc)))
        try:
            await self._write([row for _, row in rows])
        except Exception as exc:
            if not self._store.refuses(exc):
                raise
            for task, row in rows:  # find the rows PostgreSQL refuses; the others go in
                try:
                    await self._write([row])
                except Exception as one:
                    if not self._store.refuses(one):
                        raise
                    bad.append((task.id, task.queue, repr(one)))
        return bad

    async def upsert(self, tasks: Sequence[Task]) -> None:
        """Write these ends to the `tasks` table in one transaction (newer ends win)."""
        await self._write([row_of(task) for task in newest_ends(tasks)])

    async def _write(self, rows: Sequence[tuple[object, ...]]) -> None:
        if not rows:
            return
        async with self._store.connection() as conn, conn.transaction():
            await conn.executemany(_UPSERT, rows)

    async def run(self) -> None:
        pause_s = RETRY_FIRST_S
        while True:
            try:
                copied = await self.archive_once()
            except Exception as exc:  # whatever it is, the loop must outlive it: entries only wait
                if not self._failing:
                    expected = isinstance(exc, TasklineError)  # unreachable; anything else is a fault
                    log.warning(
                        "archiving to PostgreSQL history paused, ended tasks wait in the outbox: %s%s",
                        "the live backend failed: " if self.live_failed else "",
                        exc,
                        exc_info=None if expected else exc,
                    )
                    self._failing = True
                await asyncio.sleep(pause_s)
                pause_s = min(pause_s * 2, RETRY_MAX_S)
                continue
            if copied and self._failing:  # only a pass that wrote shows PostgreSQL is back; one
                # that found nothing to read (another server holds the queues) did not ask it
                log.warning("archiving to PostgreSQL history resumed")
                self._failing = False
            pause_s = RETRY_FIRST_S  # any pass that went through: the next failure starts afresh
            if copied == 0:  # a pass that found any goes again at once: a backlog drains at full speed
                await asyncio.sleep(self._idle_s)
