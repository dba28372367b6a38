"""A throwaway PostgreSQL for benchmarks: initdb + pg_ctl in a temporary directory, on a free port.

We run as root and initdb refuses root, so the cluster belongs to the `postgres` user, in a
directory of its own (a root-only temporary directory would not let it in). Stoppable and
startable again on the same port, for the archive's backlog measurement.
"""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.servers import free_port


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class PostgresServer:
    """PostgreSQL with default settings but the port and socket directory."""

    def __init__(self, data: Path) -> None:
        for program in ("initdb", "pg_ctl", "psql"):
            if shutil.which(program) is None:
                raise RuntimeError(f"{program} is not installed (Debian package postgresql)")
        self.data = data
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        initdb = ["initdb", "-D", str(data / "db"), "-A", "trust", "-U", "postgres", "--no-sync"]
        subprocess.run(_as_postgres(*initdb), check=True, capture_output=True)

    def start(self) -> None:
        """Start and wait until it accepts connections (`pg_ctl -w`)."""
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        start = ["pg_ctl", "-D", str(self.data / "db"), "-o", options, "-l", str(self.data / "log"), "-w", "start"]
        subprocess.run(_as_postgres(*start), check=True, capture_output=True)

    def stop(self) -> None:
        stop = ["pg_ctl", "-D", str(self.data / "db"), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_postgres(*stop), check=False, capture_output=True)


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    data = Path(tempfile.mkdtemp(prefix="taskline-bench-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        server = PostgresServer(data)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)


def count_rows(url: str, table: str) -> int:
    """Rows in `table`, 0 while it does not exist yet or the server is down."""
    done = subprocess.run(["psql", url, "-Atc", f"SELECT count(*) FROM {table}"], capture_output=True, text=True)
    return int(done.stdout.strip()) if done.returncode == 0 else 0
