"""Opening the database file: pragmas that make it safe to share, and the schema on first use."""

import sqlite3
from pathlib import Path
from typing import Literal

from taskline.backends.sqlite.queries import MIGRATIONS, SCHEMA, SCHEMA_VERSION
from taskline.errors import BackendUnavailable

Synchronous = Literal["NORMAL", "FULL"]
BUSY_TIMEOUT_S = 5.0


def connect(path: Path | str, *, synchronous: Synchronous = "NORMAL") -> sqlite3.Connection:
    """A connection in WAL mode and autocommit (transactions are always explicit).

    `synchronous=NORMAL` in WAL mode survives a killed process: a commit has been written to
    the WAL, so it sits in the OS page cache. Only a power loss or kernel crash can lose the
    last commits before a checkpoint; `FULL` fsyncs every commit to close that gap too.

    Raises:
        BackendUnavailable: the file cannot be opened as a database.
    """
    try:
        # The connection is made here but used only by the one thread that owns it.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA temp_store = MEMORY")
        return conn
    except sqlite3.Error as exc:
        raise BackendUnavailable(f"cannot open the SQLite database at {path}: {exc}") from exc


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the schema in a fresh file, bring an older file up to date with the migrations;
    refuse a file from a newer version of Taskline.

    Raises:
        BackendUnavailable: the file's schema version is not one this code knows.
    """
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.executescript(SCHEMA)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        while version + 1 in MIGRATIONS:
            conn.executescript(MIGRATIONS[version + 1])
            version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        raise BackendUnavailable(f"cannot create the SQLite schema: {exc}") from exc
    if version != SCHEMA_VERSION:
        raise BackendUnavailable(f"the database has schema version {version}; this Taskline knows {SCHEMA_VERSION}")
