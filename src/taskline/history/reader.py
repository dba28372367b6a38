"""History reads: one task by id (the fallback of `GET /api/v1/tasks/{id}`) and the listing
of `GET /api/v1/tasks?source=history`, with the live listing's filters and cursor semantics:
newest first by id, `next_cursor` the last id of a full page."""

import re

from taskline.core.task import Task, TaskFilter, TaskPage
from taskline.errors import ValidationFailed
from taskline.history.rows import COLUMNS, task_of
from taskline.history.store import HistoryStore

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM tasks"  # the names are ours, never a caller's
_CURSOR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class HistoryReader:
    def __init__(self, store: HistoryStore) -> None:
        self._store = store

    async def get(self, task_id: str) -> Task | None:
        """The archived task, or None.

        Raises:
            BackendUnavailable: PostgreSQL cannot be reached.
        """
        async with self._store.connection() as conn:
            row = await conn.fetchrow(f"{_SELECT} WHERE id = $1", task_id)
        return None if row is None else task_of(row)

    async def list_tasks(self, filter: TaskFilter, *, limit: int, cursor: str | None = None) -> TaskPage:
        """Archived tasks newest first; `cursor` is the previous page's `next_cursor`.

        Raises:
            ValidationFailed: the cursor is not one a history listing gives.
            BackendUnavailable: PostgreSQL cannot be reached.
        """
        if cursor is not None and not _CURSOR.match(cursor):
            raise ValidationFailed(
                "the cursor is not one this listing gave", [{"field": "cursor", "message": "is not valid"}]
            )
        where: list[str] = []
        args: list[object] = []
        for column, value in (
            ("state", None if filter.state is None else filter.state.value),
            ("type", filter.type),
            ("queue", filter.queue),
        ):
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        if cursor is not None:
            args.append(cursor)
            where.append(f"id < ${len(args)}")
        args.append(limit + 1)  # one more tells whether a next page exists
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        query = f"{_SELECT}{clause} ORDER BY id DESC LIMIT ${len(args)}"
        async with self._store.connection() as conn:
            rows = await conn.fetch(query, *args)
        tasks = [task_of(row) for row in rows[:limit]]
        return TaskPage(tasks, tasks[-1].id if len(rows) > limit else None)
