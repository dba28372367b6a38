"""The per-minute samples on SQLite: the `samples` table (migration_4.sql).

`record` is a `Writer` operation (one savepoint); `between` runs on the `Reader`'s connection.
"""

import sqlite3

from taskline.backends.sqlite.queries import QUERIES as Q
from taskline.backends.sqlite.writer import Wakeups
from taskline.core.samples import Totals, decode_each, encode, oldest_kept, readable


def record(conn: sqlite3.Connection, wakeups: Wakeups, *, minute: int, totals: Totals) -> bool:
    """Insert the minute's sample unless it has one; trim only after a new one (the first
    writer of a minute already trimmed for it)."""
    stored = conn.execute(Q.add_sample, (minute, encode(totals))).rowcount == 1
    if stored:
        conn.execute(Q.trim_samples, (oldest_kept(minute),))
    return stored


def between(conn: sqlite3.Connection, *, first: int, last: int) -> dict[int, Totals]:
    minutes = readable(first, last)
    if not minutes:
        return {}
    rows = conn.execute(Q.samples_between, (minutes.start, minutes.stop - 1))
    return decode_each((row["minute"], row["totals"]) for row in rows)
