"""The webhook outbox on SQLite (SPEC §6): the `webhook_outbox` table, claimed and settled.

Rows are added by `transitions._record` in the transaction that ends the task. These are
`Writer` operations: one savepoint each, so a claim or a settlement is all or nothing.
"""

import sqlite3

import orjson

from taskline.backends.sqlite import archive as archive_outbox
from taskline.backends.sqlite.queries import QUERIES as Q
from taskline.backends.sqlite.records import decode, to_ms
from taskline.backends.sqlite.writer import Wakeups
from taskline.core.webhooks import Delivery, DeliveryOutcome


def claim(conn: sqlite3.Connection, wakeups: Wakeups, *, now_ms: int, limit: int, until_ms: int) -> list[Delivery]:
    """Due deliveries, made due again at `until_ms` so a dispatcher that dies leaves them for later."""
    rows = conn.execute(Q.claim_deliveries, {"now_ms": now_ms, "limit": limit, "until_ms": until_ms}).fetchall()
    claimed = []
    for row in rows:
        task = decode(orjson.loads(row["task"]))
        claimed.append(Delivery(row["id"], row["task_id"], task.queue, row["event"], row["attempts"], task))
    return claimed


def settle(
    conn: sqlite3.Connection,
    wakeups: Wakeups,
    *,
    delivery: Delivery,
    outcome: DeliveryOutcome,
    now_ms: int,
    archive: bool = False,
) -> bool:
    """Apply one attempt's outcome; False (nothing changed) if the attempt was settled already.
    `archive` (history on): a final outcome also sends the task, with its final webhook_status,
    to the archive outbox, since history took it at its end with the delivery still pending."""
    row = conn.execute(Q.delivery_attempts, (delivery.id,)).fetchone()
    if row is None or row["attempts"] != delivery.attempts:
        return False
    if outcome.state == "pending":
        conn.execute(Q.postpone_delivery, {"id": delivery.id, "due_ms": now_ms + to_ms(outcome.retry_in_s)})
    else:
        conn.execute(Q.drop_delivery, (delivery.id,))
    ended = delivery.task.completed_at
    status = orjson.dumps(outcome.webhook_status()).decode()
    row = conn.execute(
        Q.set_webhook_status,
        {"status": status, "task_id": delivery.task_id, "completed_ms": None if ended is None else to_ms(ended)},
    ).fetchone()
    if archive and outcome.state != "pending" and row is not None:
        archive_outbox.add(conn, decode(row), added_ms=now_ms)
    return True
