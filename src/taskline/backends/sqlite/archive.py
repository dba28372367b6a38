"""The archive outbox on SQLite (PostgreSQL history): the `archive_outbox` table (migration_5.sql).

Rows are added by `transitions._record` in the transaction that ends the task, while history
is on. Reads run on the reader thread; the delete is a `Writer` operation by `seq`, so it
removes exactly the rows archived.
"""

import sqlite3

import orjson

from taskline.backends.sqlite.queries import QUERIES as Q
from taskline.backends.sqlite.records import decode, encode
from taskline.backends.sqlite.writer import Wakeups
from taskline.core.archive import ArchiveBacklog, ArchiveEntry
from taskline.core.task import Task


def add(conn: sqlite3.Connection, task: Task, *, added_ms: int) -> None:
    """The task as it ended into the outbox, in the caller's transaction: the one way an entry is
    written (an end, and a webhook's final status), in the one layout `read` decodes: `encode`'s
    columns (its order_key, which no reader of the copy uses, computed without aging)."""
    conn.execute(Q.add_archive, {"task": orjson.dumps(encode(task, aging_s=0)).decode(), "added_ms": added_ms})


def read(conn: sqlite3.Connection, *, limit: int) -> list[ArchiveEntry]:
    """Up to `limit` entries, oldest first."""
    rows = conn.execute(Q.read_archive, (limit,)).fetchall()
    return [_entry(str(row["seq"]), row["task"]) for row in rows]


def _entry(ref: str, stored: str) -> ArchiveEntry:
    """The entry, or an unreadable one: one bad record must not stop the others being archived."""
    try:
        values = orjson.loads(stored)
    except orjson.JSONDecodeError as exc:
        return ArchiveEntry.unreadable(ref, task_id="", queue="", problem=repr(exc))
    try:
        return ArchiveEntry.of(ref, decode(values))
    except Exception as exc:  # any way a record fails to decode (a missing field, a bad value)
        named = values if isinstance(values, dict) else {}
        return ArchiveEntry.unreadable(
            ref, task_id=str(named.get("id", "")), queue=str(named.get("queue", "")), problem=repr(exc)
        )


def drop(conn: sqlite3.Connection, wakeups: Wakeups, *, refs: list[int]) -> int:
    """Delete the rows of these seqs; returns how many were still there."""
    return conn.execute(Q.drop_archived, (orjson.dumps(refs).decode(),)).rowcount


def backlog(conn: sqlite3.Connection) -> ArchiveBacklog:
    row = conn.execute(Q.archive_backlog).fetchone()
    oldest_ms = row["oldest_ms"]
    return ArchiveBacklog(row["depth"], None if oldest_ms is None else oldest_ms / 1000)
