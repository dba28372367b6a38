"""The deployment a chaos run attacks: redis-server, `taskline serve` instances and workers,
each a child process the fault driver may SIGKILL, SIGSTOP and SIGCONT, and start again."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.helpers.live import REPO_ROOT
from tests.helpers.servers import RedisServer

READY_TIMEOUT_S = 300.0
"""How long a process may take to start: minutes on a machine shared with other test runs."""


def _clean_env(settings: dict[str, str]) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    return {**inherited, **{f"TASKLINE_{name.upper()}": value for name, value in settings.items()}}


class Child:
    """One restartable process: `argv` under `settings` (TASKLINE_* names, lowercase, without
    the prefix), its output appended to `log` across restarts."""

    def __init__(self, name: str, argv: list[str], settings: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.settings = settings
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.stopped = False  # SIGSTOPped and not yet resumed
        self.downs: list[tuple[float, float]] = []
        """(from, to) wall-clock times it could do no work: killed until started again, stopped until resumed."""
        self._down_since: float | None = time.time()

    def _down(self) -> None:
        if self._down_since is None:
            self._down_since = time.time()

    def _up(self) -> None:
        if self._down_since is not None:
            self.downs.append((self._down_since, time.time()))
            self._down_since = None

    def start(self) -> None:
        self.launch()
        self.ready()

    def launch(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, env=_clean_env(self.settings), cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        self.stopped = False

    def ready(self) -> None:
        """Counted up from here: a process whose readiness cannot be asked is up once started."""
        self._up()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        self._down()
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.stopped = False

    def pause(self) -> None:
        if self.alive():
            assert self.process is not None
            self._down()
            self.process.send_signal(signal.SIGSTOP)
            self.stopped = True

    def resume(self) -> None:
        if self.process is not None and self.stopped:
            self.process.send_signal(signal.SIGCONT)
            self._up()
        self.stopped = False

    def terminate(self, timeout_s: float = 20) -> None:
        """SIGTERM (after SIGCONT: a stopped process cannot act on it); SIGKILL if it lingers."""
        if not self.alive():
            return
        assert self.process is not None
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()


class Serve(Child):
    """`taskline serve` on a fixed port, so a restart is found where its clients look."""

    def __init__(self, name: str, port: int, settings: dict[str, str], log: Path) -> None:
        super().__init__(name, [sys.executable, "-m", "taskline", "serve"], {**settings, "port": str(port)}, log)
        self.url = f"http://127.0.0.1:{port}"

    def ready(self) -> None:
        """Up once it answers /health (a server that is still importing serves nobody)."""
        wait_for(self._healthy, what=f"{self.name} to answer /health", alive=self.alive)
        super().ready()

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False


class ChaosWorker(Child):
    """tests/chaos/worker.py: the Python worker, writing down what it was told into `record`."""

    def __init__(self, name: str, record: Path, settings: dict[str, str], log: Path, concurrency: int) -> None:
        argv = [sys.executable, "-m", "tests.chaos.worker", str(record), "--concurrency", str(concurrency)]
        super().__init__(name, argv, settings, log)
        self.record = record


class Redis(Child):
    """redis-server through tests/helpers/servers.py, adapted to the driver's verbs."""

    def __init__(self, server: RedisServer, log: Path) -> None:
        super().__init__("redis", [], {}, log)
        self.server = server

    def start(self) -> None:
        self.server.start(timeout_s=READY_TIMEOUT_S)
        self.process = self.server.process
        self.stopped = False
        self.ready()

    def kill(self) -> None:
        self.resume()
        self._down()
        self.server.kill()
        self.process = None


def wait_for(
    condition: Callable[[], bool],
    *,
    what: str,
    timeout_s: float = READY_TIMEOUT_S,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Ask until `condition` holds (it is state of another process: nothing announces it)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if alive is not None and not alive():
            raise RuntimeError(f"gave up waiting for {what}: the process exited")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # paces the asking
