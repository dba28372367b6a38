"""The processes under soak: redis-server, `taskline serve`, `taskline worker`s; killable and
restartable by slot, each life a series of its own (`worker-1`, then `worker-1#2` after a restart).

Each process runs inside the tests' own starters (tests/helpers: running_redis, live_server,
worker_process), held open in an ExitStack per life, so a kill is SIGKILL followed by the
starter's exit (which finds the process gone) and a restart is a new starter on the same port.
"""

import os
import signal
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.live import LiveServer, WorkerProcess, live_server, worker_process
from tests.helpers.servers import RedisServer, running_redis


def rss_bytes(pid: int) -> int | None:
    """VmRSS of a live process from /proc (Linux); None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # reported in kB
    return None


@dataclass
class Life:
    """One life of a slot: the label its samples go under, its pid, and what stops it."""

    label: str
    pid: int
    stack: ExitStack

    def kill(self) -> None:
        """SIGKILL, the crash case; then let the starter clean up after a process already gone."""
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.stack.close()


@dataclass
class Deployment:
    workdir: Path
    settings: dict[str, str]
    worker_count: int
    concurrency: int
    redis: RedisServer | None = None
    server: LiveServer | None = None
    lives: dict[str, Life] = field(default_factory=dict)  # slot → current life
    births: dict[str, int] = field(default_factory=dict)  # slot → lives so far
    _redis_stack: ExitStack = field(default_factory=ExitStack)

    def start(self) -> None:
        (self.workdir / "redis").mkdir(parents=True, exist_ok=True)
        self.redis = self._redis_stack.enter_context(running_redis(self.workdir / "redis"))
        self.start_server()
        for n in range(self.worker_count):
            self.start_worker(n)

    def _label(self, slot: str) -> str:
        self.births[slot] = self.births.get(slot, 0) + 1
        return slot if self.births[slot] == 1 else f"{slot}#{self.births[slot]}"

    def start_server(self, port: int | None = None) -> None:
        stack = ExitStack()
        home = self.workdir / f"serve-{self.births.get('serve', 0) + 1}"
        home.mkdir(parents=True, exist_ok=True)
        assert self.redis is not None
        self.server = stack.enter_context(live_server(home, redis_url=self.redis.url, port=port, **self.settings))
        self.lives["serve"] = Life(self._label("serve"), self.server.process.pid, stack)

    def restart_server(self) -> None:
        """SIGKILL the API and start it again on the same port, where the clients look for it."""
        assert self.server is not None
        port = self.server.port
        self.lives["serve"].kill()
        self.start_server(port)

    def start_worker(self, n: int) -> WorkerProcess:
        """Worker n: over HTTP from the API when n is even, straight on Redis when odd, so both
        transports are soaked (and both have a witness that is never killed: workers 0 and 1)."""
        assert self.server is not None
        assert self.redis is not None
        stack = ExitStack()
        over_http = n % 2 == 0
        slot = f"worker-{n}-{'http' if over_http else 'redis'}"
        source = {"TASKLINE_SERVER": self.server.url} if over_http else {"TASKLINE_REDIS_URL": self.redis.url}
        worker = stack.enter_context(
            worker_process(
                self.workdir,
                "bench.soak.app:app",
                "--concurrency",
                str(self.concurrency),
                environ=source,
                log_level="warning",
            )
        )
        self.lives[slot] = Life(self._label(slot), worker.process.pid, stack)
        return worker

    def restart_worker(self, n: int) -> None:
        slot = next(name for name in self.lives if name.startswith(f"worker-{n}-"))
        self.lives[slot].kill()
        self.start_worker(n)

    def pids(self) -> dict[str, int]:
        """Each live process by the label of its current life, redis-server included."""
        assert self.redis is not None
        assert self.redis.process is not None
        return {"redis-server": self.redis.process.pid, **{life.label: life.pid for life in self.lives.values()}}

    def close(self) -> None:
        for life in reversed(list(self.lives.values())):
            life.stack.close()
        self._redis_stack.close()
