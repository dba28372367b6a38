"""Every field of a task survives a row of the SQLite `tasks` table and back."""

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings

from taskline.backends.sqlite.connection import ensure_schema
from taskline.backends.sqlite.queries import QUERIES
from taskline.backends.sqlite.records import decode, encode
from taskline.core.task import Task
from tests.helpers.records import same, tasks


@pytest.fixture(scope="module")
def conn() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    ensure_schema(conn)
    yield conn
    conn.close()


@settings(max_examples=150, deadline=None)
@given(task=tasks())
def test_every_field_survives_the_row(conn: sqlite3.Connection, task: Task) -> None:
    conn.execute("DELETE FROM tasks")
    conn.execute(QUERIES.insert_task, encode(task, aging_s=3600))
    row = conn.execute("SELECT * FROM tasks WHERE id = ?", (task.id,)).fetchone()

    assert same(decode(row), task) == {}
