"""The worker registry on SQLite: the `workers` table, its row codec, and the operations on it.

Writes are `Writer` operations (one savepoint each); reads run on the `Reader`'s connection.
Each write announces what it changed (worker.joined, .left, .paused, .resumed).

When a worker said it left is kept in `Departures`, in memory: a SQLite file has one writing
process, the server whose requests could be in flight, so the mark needs to outlive only them
(`DEPARTURE_KEPT_S`), not the process, and needs no column of its own.
"""

import sqlite3
from typing import Any

import orjson

from taskline.backends.sqlite.queries import QUERIES as Q
from taskline.backends.sqlite.writer import Wakeups
from taskline.core.workers import DEPARTURE_KEPT_S, WorkerDetails, WorkerRecord, WorkerState
from taskline.events.types import EventName


class Departures:
    """When each worker said it left (ms), for `DEPARTURE_KEPT_S`; used by the writer alone."""

    def __init__(self) -> None:
        self._left_ms: dict[str, int] = {}

    def left(self, worker_id: str, now_ms: int) -> None:
        kept_since = now_ms - int(DEPARTURE_KEPT_S * 1000)
        self._left_ms = {w: at for w, at in self._left_ms.items() if at >= kept_since}
        self._left_ms[worker_id] = now_ms

    def stale(self, worker_id: str, since_ms: int) -> bool:
        """Whether a sighting from a request begun at `since_ms` predates the worker's leaving;
        a later one is the worker starting again, and clears the mark."""
        left_ms = self._left_ms.get(worker_id)
        if left_ms is None:
            return False
        if since_ms < left_ms:
            return True
        del self._left_ms[worker_id]
        return False


def _decode(row: sqlite3.Row) -> WorkerRecord:
    return WorkerRecord(
        id=row["id"],
        host=row["host"],
        pid=row["pid"],
        queues=orjson.loads(row["queues"]),
        types=orjson.loads(row["types"]),
        concurrency=row["concurrency"],
        active=row["active"],
        processed=row["processed"],
        failed=row["failed"],
        state=WorkerState.PAUSED if row["paused"] else WorkerState.ACTIVE,
        started_at=row["started_ms"] / 1000,
        last_seen=row["last_seen_ms"] / 1000,
    )


def _list_json(names: list[str] | None) -> str | None:
    return None if names is None else orjson.dumps(names).decode()


def register(
    conn: sqlite3.Connection,
    wakeups: Wakeups,
    *,
    departures: Departures,
    worker_id: str,
    details: WorkerDetails,
    now_ms: int,
    since_ms: int,
) -> WorkerRecord | None:
    """A sighting; a new worker, or one back after it had left, joins. None: the sighting's
    request began before the worker said it left, and is dropped (no ghost)."""
    if departures.stale(worker_id, since_ms):
        return None
    before = conn.execute(Q.get_worker, (worker_id,)).fetchone()
    params: dict[str, Any] = {
        "id": worker_id,
        "host": details.host,
        "pid": details.pid,
        "queues": _list_json(details.queues),
        "types": _list_json(details.types),
        "concurrency": details.concurrency,
        "active": details.active,
        "processed": details.processed,
        "failed": details.failed,
        "now_ms": now_ms,
    }
    record = _decode(conn.execute(Q.register_worker, params).fetchone())
    if before is None or before["left_ms"] is not None:
        wakeups.announce(EventName.WORKER_JOINED, record)
    return record


def set_paused(conn: sqlite3.Connection, wakeups: Wakeups, *, worker_id: str, paused: bool) -> WorkerRecord | None:
    before = conn.execute(Q.get_worker, (worker_id,)).fetchone()
    row = conn.execute(Q.set_worker_paused, (int(paused), worker_id)).fetchone()
    if row is None:
        return None
    record = _decode(row)
    if bool(before["paused"]) != paused:
        wakeups.announce(EventName.WORKER_PAUSED if paused else EventName.WORKER_RESUMED, record)
    return record


def _gone(wakeups: Wakeups, rows: list[sqlite3.Row]) -> int:
    """Announce deleted workers that had not left yet; returns how many rows were deleted."""
    for row in rows:
        if row["left_ms"] is None:
            wakeups.announce(EventName.WORKER_LEFT, _decode(row))
    return len(rows)


def forget(conn: sqlite3.Connection, wakeups: Wakeups, *, departures: Departures, worker_id: str, now_ms: int) -> bool:
    """The worker said it left: its row goes, and when it left is kept (known or not: its first
    heartbeat may still be on its way)."""
    departures.left(worker_id, now_ms)
    return _gone(wakeups, conn.execute(Q.forget_worker, (worker_id,)).fetchall()) > 0


def prune(conn: sqlite3.Connection, wakeups: Wakeups, *, seen_before_ms: int) -> int:
    return _gone(wakeups, conn.execute(Q.prune_workers, (seen_before_ms,)).fetchall())


def depart(conn: sqlite3.Connection, wakeups: Wakeups, *, seen_before_ms: int, now_ms: int) -> int:
    rows = conn.execute(Q.depart_workers, {"before_ms": seen_before_ms, "now_ms": now_ms}).fetchall()
    for row in rows:
        wakeups.announce(EventName.WORKER_LEFT, _decode(row))
    return len(rows)


def seen_since(conn: sqlite3.Connection, *, seen_since_ms: int) -> list[WorkerRecord]:
    return [_decode(row) for row in conn.execute(Q.workers_seen_since, (seen_since_ms,))]


def count_seen_since(conn: sqlite3.Connection, *, seen_since_ms: int) -> int:
    """A count over the index on last_seen_ms (workers_by_last_seen): no row is read."""
    (count,) = conn.execute(Q.count_workers_seen_since, (seen_since_ms,)).fetchone()
    return int(count)


def get(conn: sqlite3.Connection, *, worker_id: str) -> WorkerRecord | None:
    row = conn.execute(Q.get_worker, (worker_id,)).fetchone()
    return None if row is None else _decode(row)
