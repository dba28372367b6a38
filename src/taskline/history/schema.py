"""The history schema: numbered migrations (`migration_<n>.sql`), applied once each, in order.

`taskline_history_migrations` records every version applied. Several servers starting at
once take a transaction-scoped advisory lock first, so exactly one applies each migration.
"""

from importlib.resources import files
from typing import Any

from taskline.errors import BackendUnavailable

MIGRATIONS_TABLE = "taskline_history_migrations"
_LOCK_KEY = 0x7A5C11E  # pg_advisory_xact_lock's key: "taskline history migrations"
_VERSIONS = (1,)
"""Every migration there is; a new one is one more `migration_<n>.sql` and one more number here."""


def migration(version: int) -> str:
    return (files("taskline.history") / f"migration_{version}.sql").read_text(encoding="utf-8")


SCHEMA_VERSION = _VERSIONS[-1]


async def migrate(conn: Any) -> list[int]:
    """Bring the schema up to SCHEMA_VERSION on `conn` (an asyncpg connection); returns the
    versions this call applied (none when another server got there first).

    Raises:
        BackendUnavailable: the database has a version newer than this Taskline knows.
    """
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
            "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch(f"SELECT version FROM {MIGRATIONS_TABLE}")}
        if done and max(done) > SCHEMA_VERSION:
            # Not ours to touch: history stays unavailable (503, the archiver waits) until upgraded.
            newest = max(done)
            raise BackendUnavailable(f"history has schema version {newest}; this Taskline knows {SCHEMA_VERSION}")
        for version in _VERSIONS:
            if version not in done:
                await conn.execute(migration(version))
                await conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (version) VALUES ($1)", version)
                applied.append(version)
    return applied
