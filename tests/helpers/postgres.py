"""A real PostgreSQL for tests: `initdb` into a temporary directory, `pg_ctl` on a free port.

We run as root and initdb refuses root, so the cluster belongs to the `postgres` user (the
Debian package creates it): its directory, made in the system's temp dir (pytest's are private
to root), is chowned to it and the tools run under `runuser` when we are root. Settings are for
speed, not durability (fsync off): a test database; `fast=False` keeps PostgreSQL's defaults
(the benchmarks' archive rate).
"""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.servers import free_port

_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # the newest first


def _tool(name: str) -> str:
    found = shutil.which(name) or next((str(d / name) for d in _BIN_DIRS if (d / name).exists()), None)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run `make services` (Debian package postgresql)")
    return found


class PostgresServer:
    """One PostgreSQL cluster on loopback; stoppable and startable again on the same port and data."""

    def __init__(self, *, fast: bool = True) -> None:
        self.fast = fast
        self.workdir = Path(tempfile.mkdtemp(prefix="taskline-pg-"))
        self.data = self.workdir / "data"
        self.port = free_port()
        self.running = False
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*self._as_postgres, *args], capture_output=True, check=check, cwd="/")

    def init(self) -> None:
        if self._as_postgres:
            shutil.chown(self.workdir, "postgres", "postgres")
        done = self._run(
            _tool("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.decode()}")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.workdir}"
        if self.fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        # -w: pg_ctl itself waits until the server accepts connections, no sleep here.
        done = self._run(
            _tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.workdir / "log"), "-w", "start",
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.workdir / "log").read_text(errors="replace") if (self.workdir / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr.decode()}\n{log}")
        self.running = True

    def stop(self) -> None:
        """A fast shutdown (clients are cut off), waited for."""
        if self.running:
            self._run(_tool("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
            self.running = False

    def psql(self, sql: str) -> str:
        """Run `sql` with psql; its unaligned, tuples-only output."""
        done = self._run(_tool("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-AtXc", sql)
        return done.stdout.decode().strip()


@contextmanager
def running_postgres(*, fast: bool = True) -> Iterator[PostgresServer]:
    server = PostgresServer(fast=fast)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)
