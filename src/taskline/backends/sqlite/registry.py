"""The worker registry on SQLite: the `workers` table, its row codec, and the operations on it.

Writes are `Writer` operations (one savepoint each); reads run on the `Reader`'s connection.
"""

import sqlite3
from typing import Any

import orjson

from taskline.backends.sqlite.queries import QUERIES as Q
from taskline.backends.sqlite.writer import Wakeups
from taskline.core.workers import WorkerDetails, WorkerRecord, WorkerState


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
    conn: sqlite3.Connection, _: Wakeups, *, worker_id: str, details: WorkerDetails, now_ms: int
) -> WorkerRecord:
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
    return _decode(conn.execute(Q.register_worker, params).fetchone())


def set_paused(conn: sqlite3.Connection, _: Wakeups, *, worker_id: str, paused: bool) -> WorkerRecord | None:
    row = conn.execute(Q.set_worker_paused, (int(paused), worker_id)).fetchone()
    return None if row is None else _decode(row)


def forget(conn: sqlite3.Connection, _: Wakeups, *, worker_id: str) -> bool:
    return conn.execute(Q.forget_worker, (worker_id,)).rowcount > 0


def prune(conn: sqlite3.Connection, _: Wakeups, *, seen_before_ms: int) -> int:
    return conn.execute(Q.prune_workers, (seen_before_ms,)).rowcount


def seen_since(conn: sqlite3.Connection, *, seen_since_ms: int) -> list[WorkerRecord]:
    return [_decode(row) for row in conn.execute(Q.workers_seen_since, (seen_since_ms,))]


def get(conn: sqlite3.Connection, *, worker_id: str) -> WorkerRecord | None:
    row = conn.execute(Q.get_worker, (worker_id,)).fetchone()
    return None if row is None else _decode(row)
