"""A throwaway PostgreSQL for benchmarks: initdb + pg_ctl in a temporary directory, on a free port.

We run as root and initdb refuses root, so the cluster belongs to the `postgres` user, in a
directory of its own (a root-only temporary directory would not let it in).
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


@contextmanager
def running_postgres() -> Iterator[str]:
    """Start PostgreSQL (default settings but the port and socket) and yield its URL."""
    for program in ("initdb", "pg_ctl", "psql"):
        if shutil.which(program) is None:
            raise RuntimeError(f"{program} is not installed (Debian package postgresql)")
    data = Path(tempfile.mkdtemp(prefix="taskline-bench-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        port = free_port()
        subprocess.run(
            _as_postgres("initdb", "-D", str(data / "db"), "-A", "trust", "-U", "postgres", "--no-sync"),
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
        start = ["pg_ctl", "-D", str(data / "db"), "-o", options, "-l", str(data / "log"), "-w", "start"]
        subprocess.run(_as_postgres(*start), check=True, capture_output=True)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            stop = ["pg_ctl", "-D", str(data / "db"), "-m", "immediate", "stop"]
            subprocess.run(_as_postgres(*stop), check=False, capture_output=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def count_rows(url: str, table: str) -> int:
    """Rows in `table`, 0 while it does not exist yet (the archiver makes it)."""
    done = subprocess.run(["psql", url, "-Atc", f"SELECT count(*) FROM {table}"], capture_output=True, text=True)
    return int(done.stdout.strip()) if done.returncode == 0 else 0
