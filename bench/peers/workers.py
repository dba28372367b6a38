"""The peer's own worker processes: started, watched and stopped as process groups.

Each command runs in a session of its own, so stopping it reaches the children it forks
(Celery's prefork pool, Dramatiq's and Taskiq's supervisors) and nothing else.
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

STOP_GRACE_S = 10.0
LOG_TAIL_CHARS = 600


class WorkerGroup:
    """Worker processes of one peer, with their output in `logdir/<peer>-<n>.log`."""

    def __init__(self, name: str, commands: Sequence[Sequence[str]], env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.commands = commands
        self.env = env
        self.logs = [logdir / f"{name}-{n}.log" for n in range(len(commands))]
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        env = {**os.environ, **self.env}
        for command, log in zip(self.commands, self.logs, strict=True):
            with log.open("ab") as out:
                process = subprocess.Popen(
                    command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            self.processes.append(process)

    def check_alive(self) -> None:
        """Raise with the worker's own last words when one has exited."""
        for process, log in zip(self.processes, self.logs, strict=False):
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-LOG_TAIL_CHARS:].strip()
                raise RuntimeError(f"worker exited with {process.returncode}: {tail or '(no output)'}")

    def stop(self) -> None:
        for process in self.processes:
            self._signal(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
        for process in self.processes:  # children a supervisor left behind
            self._signal(process, signal.SIGKILL)
        self.processes = []

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
