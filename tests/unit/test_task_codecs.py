"""One definition of a task's fields (core.task.TASK_FIELDS): every codec carries each field, or
names it in core.task as one it leaves out, and reads back what it writes, with every field set
to odd values (tests/helpers/records.py). The Redis record and the SQLite row have their own
round trips against real stores (tests/integration/redis|sqlite/test_record.py)."""

import sqlite3

import orjson
from hypothesis import given, settings

from taskline.backends.redis.codec import RECORD_FIELDS
from taskline.backends.sqlite.connection import ensure_schema
from taskline.core.task import NOT_IN_HISTORY, NOT_ON_THE_WIRE, TASK_FIELDS, Task
from taskline.history.rows import COLUMNS, row_of, task_of
from taskline.wire import task_from_json, task_json
from tests.helpers.records import same, tasks

CHECKS = settings(max_examples=100, deadline=None)


def _kept(task: Task, left_out: frozenset[str], back: Task) -> dict[str, object]:
    return {name: diff for name, diff in same(back, task).items() if name not in left_out}


@CHECKS
@given(task=tasks())
def test_the_wire_carries_every_field_it_does_not_name(task: Task) -> None:
    sent = orjson.loads(orjson.dumps(task_json(task)))

    assert _kept(task, NOT_ON_THE_WIRE, task_from_json(sent)) == {}


def test_the_wire_sends_exactly_the_fields_not_named() -> None:
    assert list(task_json(Task(id="t", type="x"))) == [n for n in TASK_FIELDS if n not in NOT_ON_THE_WIRE]


@CHECKS
@given(task=tasks())
def test_history_rows_carry_every_field_they_do_not_name(task: Task) -> None:
    # PostgreSQL text holds no NUL: rows.py stores U+FFFD instead (its docstring says why).
    clean = {n: getattr(task, n).replace("\x00", "\ufffd") for n in ("error", "unique_key", "webhook")
             if getattr(task, n) is not None}  # fmt: skip
    expected = Task(**{**{n: getattr(task, n) for n in TASK_FIELDS}, **clean})

    back = task_of(dict(zip(COLUMNS, row_of(task), strict=True)))

    assert _kept(expected, NOT_IN_HISTORY, back) == {}


def test_history_columns_are_exactly_the_fields_not_named() -> None:
    assert set(COLUMNS) == set(TASK_FIELDS) - NOT_IN_HISTORY


def _field_of_record(name: str) -> str:
    """The Task field a Redis record position holds: times are stored as `<name>_ms`."""
    base = name.removesuffix("_ms")
    return base if base in TASK_FIELDS else f"{base}_at"


def test_the_redis_record_has_a_position_for_every_field() -> None:
    # The id and the queue are the hash's key and field, not part of the record (codec.py).
    assert sorted(_field_of_record(n) for n in RECORD_FIELDS) == sorted(set(TASK_FIELDS) - {"id", "queue"})


def test_the_sqlite_row_has_a_column_for_every_field() -> None:
    conn = sqlite3.connect(":memory:")
    ensure_schema(conn)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(tasks)")]
    conn.close()

    # Times are integer ms columns (`<name>_ms`); order_key is derived, for the lease index.
    assert sorted(_field_of_record(n) for n in columns if n != "order_key") == sorted(TASK_FIELDS)
