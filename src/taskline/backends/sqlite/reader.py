"""The read side: one connection on its own thread, beside the writer thanks to WAL.

Reads never queue behind the writer's transactions, and the event loop never blocks on
SQLite. Each statement sees the latest commit, so a caller reads its own acknowledged writes.
"""

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from taskline.errors import BackendUnavailable

T = TypeVar("T")

Read = Callable[[sqlite3.Connection], T]


class Reader:
    """Runs read functions on one thread that owns the read connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="taskline-sqlite-reader")
        self._closed = False

    async def run(self, read: Read[T]) -> T:
        """Run `read` with the read connection and return its value.

        Raises:
            BackendUnavailable: the backend is closed, or SQLite failed to read.
        """
        if self._closed:
            raise BackendUnavailable("the SQLite backend is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, read, self._conn)
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"SQLite could not read: {exc}") from exc

    async def close(self) -> None:
        """Let running reads finish, then stop the thread and close the connection."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._pool.shutdown, wait=True)
        self._conn.close()
