"""The read model: lookups, pages, counts and timers, each a function of the read connection."""

import sqlite3
from collections.abc import Callable

from taskline.backends.sqlite.queries import QUERIES as Q
from taskline.backends.sqlite.records import decode
from taskline.core.states import TaskState
from taskline.core.task import QueueStats, Task, TaskFilter, TaskPage
from taskline.errors import ValidationFailed

# Sorts after every UUID string, so a first page starts "before" it.
_AFTER_EVERY_ID = "~"
_AFTER_EVERY_MS = 2**62


def get(conn: sqlite3.Connection, task_id: str) -> Task | None:
    """The task with this id, or None."""
    row = conn.execute(Q.get_task, (task_id,)).fetchone()
    return None if row is None else decode(row)


def find_ids(conn: sqlite3.Connection, prefix: str, limit: int) -> list[str]:
    """Ids starting with `prefix`, in order: those from the prefix up to the prefix with its last
    (hex) character raised by one, a range of the primary key."""
    high = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    rows = conn.execute(Q.ids_in_range, {"low": prefix, "high": high, "limit": limit}).fetchall()
    return [str(row["id"]) for row in rows]


def _page(rows: list[sqlite3.Row], limit: int, cursor_of: Callable[[sqlite3.Row], str]) -> TaskPage:
    # One row more than asked says whether another page exists without a second query.
    more = len(rows) > limit
    next_cursor = cursor_of(rows[limit - 1]) if more else None
    return TaskPage(tasks=[decode(row) for row in rows[:limit]], next_cursor=next_cursor)


def _id_cursor(row: sqlite3.Row) -> str:
    return str(row["id"])


def _dlq_cursor(row: sqlite3.Row) -> str:
    return f"{row['completed_ms']}:{row['id']}"


def list_tasks(conn: sqlite3.Connection, filter: TaskFilter, limit: int, cursor: str | None) -> TaskPage:
    """Newest first by id, led by the index of the most selective filter given."""
    params = {
        "state": None if filter.state is None else filter.state.value,
        "type": filter.type,
        "queue": filter.queue,
        "before_id": cursor or _AFTER_EVERY_ID,
        "limit": limit + 1,
    }
    if filter.state is not None:
        query = Q.list_by_state
    elif filter.queue is not None:
        query = Q.list_by_queue
    elif filter.type is not None:
        query = Q.list_by_type
    else:
        query = Q.list_all
    return _page(conn.execute(query, params).fetchall(), limit, _id_cursor)


def dlq_list(conn: sqlite3.Connection, limit: int, cursor: str | None) -> TaskPage:
    """Failed tasks, most recently failed first.

    Raises:
        ValidationFailed: the cursor is not one this listing handed out.
    """
    before_ms, before_id = _AFTER_EVERY_MS, _AFTER_EVERY_ID
    if cursor is not None:
        ms, _, task_id = cursor.partition(":")
        if not ms.isdigit() or not task_id:
            raise ValidationFailed("the cursor is not valid", [{"field": "cursor", "message": "is not valid"}])
        before_ms, before_id = int(ms), task_id
    params = {"before_ms": before_ms, "before_id": before_id, "limit": limit + 1}
    return _page(conn.execute(Q.dlq_page, params).fetchall(), limit, _dlq_cursor)


def counts(conn: sqlite3.Connection) -> dict[TaskState, int]:
    """Tasks per state, every state present, from the trigger-kept counters."""
    found = {TaskState(row["state"]): int(row["n"]) for row in conn.execute(Q.counts_by_state)}
    return {state: found.get(state, 0) for state in TaskState}


def queue_stats(conn: sqlite3.Connection) -> list[QueueStats]:
    """Every known queue by name, with its counts per state (pending per priority)."""
    # One read transaction, so the queue list and the counts come from the same commit.
    conn.execute("BEGIN")
    try:
        queues = conn.execute(Q.all_queues).fetchall()
        stats = {row["name"]: QueueStats(name=row["name"], paused=bool(row["paused"])) for row in queues}
        for row in conn.execute(Q.counts_by_queue):
            queue = stats.get(row["queue"])
            if queue is None:
                continue
            state, n = TaskState(row["state"]), int(row["n"])
            if state is TaskState.PENDING:
                queue.pending[row["priority"]] += n
            else:
                setattr(queue, state.value, getattr(queue, state.value) + n)
    finally:
        conn.execute("COMMIT")
    return list(stats.values())


def next_timer(conn: sqlite3.Connection) -> float | None:
    """The earliest due time or lease expiry, in seconds."""
    due = conn.execute(Q.next_due).fetchone()[0]
    expiry = conn.execute(Q.next_expiry).fetchone()[0]
    times = [ms for ms in (due, expiry) if ms is not None]
    return min(times) / 1000 if times else None


def ping(conn: sqlite3.Connection) -> bool:
    """True if the database answers a trivial query."""
    return bool(conn.execute(Q.ping).fetchone()[0] == 1)
