"""The connection to PostgreSQL history: a small asyncpg pool, the schema made ready once, and
every failure to reach the database as `BackendUnavailable`.

The pool opens no connection until one is needed (min_size 0): a server starts, and serves its
live backend, with PostgreSQL down; the archiver waits and the history reads answer 503.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from taskline.errors import BackendUnavailable
from taskline.history.schema import migrate

log = logging.getLogger("taskline.history")

CONNECT_TIMEOUT_S = 5.0
"""How long opening a connection may take: PostgreSQL unreachable fails a read within this."""
COMMAND_TIMEOUT_S = 30.0
MAX_CONNECTIONS = 4


def _asyncpg() -> Any:
    try:
        import asyncpg
    except ImportError as exc:  # an optional extra: say how to get it rather than fail obscurely
        raise RuntimeError(
            "TASKLINE_POSTGRES_URL is set but asyncpg is not installed: pip install 'taskline[postgres]'"
        ) from exc
    return asyncpg


def _unreachable(asyncpg: Any) -> tuple[type[BaseException], ...]:
    """The errors that mean "PostgreSQL is not there right now", not "our query is wrong"."""
    errors = asyncpg.exceptions
    return (
        OSError,
        TimeoutError,
        asyncpg.InterfaceError,  # the connection closed under us
        errors.PostgresConnectionError,
        errors.OperatorInterventionError,  # shutting down, cannot connect now
        errors.InsufficientResourcesError,  # too many connections, disk full
    )


def _refused(asyncpg: Any) -> tuple[type[BaseException], ...]:
    """The errors that mean "PostgreSQL will never take this row" (its data), whatever the state
    of the server: a value out of range or not representable, a constraint the row breaks."""
    errors = asyncpg.exceptions
    # asyncpg's own DataError (a parameter it cannot encode) is an InterfaceError, as is a closed
    # connection; the server's is SQLSTATE class 22. Both say the row, not the server, is wrong.
    return (errors._base.DataError, errors.DataError, errors.IntegrityConstraintViolationError)


class HistoryStore:
    """The pool to TASKLINE_POSTGRES_URL; `connection()` hands out a connection on a ready schema."""

    def __init__(self, dsn: str) -> None:
        self._asyncpg = _asyncpg()
        self._dsn = dsn
        self._unreachable = _unreachable(self._asyncpg)
        self._refused = _refused(self._asyncpg)
        self._pool: Any = None
        self._ready = False
        self._lock = asyncio.Lock()

    async def _open(self) -> Any:
        if self._ready and self._pool is not None:  # open and migrated: no lock on every call
            return self._pool
        async with self._lock:
            if self._pool is None:
                self._pool = await self._asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=MAX_CONNECTIONS,
                    timeout=CONNECT_TIMEOUT_S,
                    command_timeout=COMMAND_TIMEOUT_S,
                )
            if not self._ready:
                async with self._pool.acquire() as conn:
                    applied = await migrate(conn)
                if applied:
                    log.info("PostgreSQL history: applied schema migrations %s", applied)
                self._ready = True
            return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A pooled connection (the schema migrated on first use).

        Raises:
            BackendUnavailable: PostgreSQL cannot be reached (or went away mid-call).
        """
        try:
            pool = await self._open()
            async with pool.acquire() as conn:
                yield conn
        except self._unreachable as exc:
            if self.refuses(exc):  # a row asyncpg cannot encode: no outage, retrying will not help
                raise
            raise BackendUnavailable(f"PostgreSQL history is unreachable: {exc!r}") from exc

    def refuses(self, exc: BaseException) -> bool:
        """Whether `exc` is PostgreSQL refusing a row for its data (not being unreachable, not
        a fault of the query or the schema): retrying that row would fail the same way forever."""
        return isinstance(exc, self._refused)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await pool.close()
            except TimeoutError:
                pool.terminate()
