"""Start real servers for tests: each on a free loopback port, in a temporary directory."""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A `redis-server` child process; restartable on the same port and data directory."""

    def __init__(
        self, workdir: Path, *, appendonly: bool = False, fsync: str = "everysec", replica_of: int | None = None
    ) -> None:
        """`replica_of`: the port of a primary on loopback this server replicates."""
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed: run `make services` (Debian package redis-server)")
        self.workdir = workdir
        self.port = free_port()
        self.appendonly = appendonly
        self.fsync = fsync
        self.replica_of = replica_of
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10) -> None:
        """Start and wait (up to `timeout_s`: longer for a big AOF on a busy machine) for PONG."""
        args = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
            "--save", "", "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.fsync, "--daemonize", "no", "--loglevel", "warning",
            # A replica's first sync otherwise waits 5 s for more replicas to share the transfer.
            "--repl-diskless-sync-delay", "0",
            *(["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + timeout_s
        while True:  # wait for the server's own answer, not a fixed sleep
            try:
                if client.ping():
                    # AOF loading answers LOADING errors to ping; ping succeeding means ready.
                    break
            except redis.exceptions.ConnectionError:
                pass
            except redis.exceptions.BusyLoadingError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        client.close()

    def kill(self) -> None:
        """SIGKILL: the crash case, nothing flushed on the way out."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None


@contextmanager
def running_redis(workdir: Path, **options: object) -> Iterator[RedisServer]:
    server = RedisServer(workdir, **options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.kill()
