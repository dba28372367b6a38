"""The hot paths stay O(log n): each statement searches its own index, with no table scan or sort."""

import re
from pathlib import Path

import pytest

from taskline.backends.sqlite.connection import connect, ensure_schema
from taskline.backends.sqlite.queries import QUERIES

HOT_PATHS = {
    "lease_candidates": "tasks_leasable",
    "lease_task": "sqlite_autoindex_tasks_1",
    "due_tasks": "tasks_due",
    "make_pending": "sqlite_autoindex_tasks_1",
    "expired_leases": "tasks_lease_expiry",
    "next_due": "tasks_due",
    "next_expiry": "tasks_lease_expiry",
    "unique_holder": "tasks_unique",
    "queued_in_queue": "PRIMARY KEY",
    "purge_pending": "tasks_leasable",
    "dlq_page": "tasks_dead",
    "trim_finished": "tasks_finished",
    "trim_dead": "tasks_dead",
    "list_all": "sqlite_autoindex_tasks_1",
    "list_by_state": "tasks_by_state",
    "list_by_queue": "tasks_by_queue",
    "list_by_type": "tasks_by_type",
}


def query_plan(db_path: Path, name: str) -> list[str]:
    sql = getattr(QUERIES, name)
    names = set(re.findall(r":(\w+)", sql))
    params: dict[str, int] | tuple[int, ...] = dict.fromkeys(names, 1) if names else (1,) * sql.count("?")
    conn = connect(db_path)
    try:
        ensure_schema(conn)
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        conn.close()


@pytest.mark.parametrize(("name", "index"), sorted(HOT_PATHS.items()))
def test_a_hot_path_searches_its_index(db_path: Path, name: str, index: str) -> None:
    plan = query_plan(db_path, name)

    assert any(step.startswith("SEARCH") and index in step for step in plan), plan
    assert not any(re.fullmatch(r"SCAN tasks( USING .*)?", step) for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan
