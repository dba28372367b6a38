"""A command in a real pseudo-terminal (pexpect), its screen kept by a terminal emulator (pyte),
so a test reads what a person would see rather than the escape codes that drew it."""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte


class Terminal:
    """`taskline ARGS` on a `rows` x `columns` terminal, with `env` over a clean environment."""

    def __init__(self, *args: str, cwd: Path, rows: int = 30, columns: int = 100, **env: str) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_") and k not in ("COLUMNS", "LINES")}
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "taskline", *args],
            cwd=str(cwd),
            env={**clean, "TERM": "xterm-256color", **env},
            dimensions=(rows, columns),
        )

    def text(self) -> str:
        """The screen as it is now, one line a row, trailing blanks cut."""
        return "\n".join(line.rstrip() for line in self.screen.display).rstrip() + "\n"

    def pump(self, wait_s: float = 0.1) -> bool:
        """Feed what the program wrote (waiting up to `wait_s` for some) to the screen; False at EOF."""
        try:
            self._stream.feed(self.child.read_nonblocking(65536, timeout=wait_s))
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def wait_for(self, condition: Callable[[str], object], *, what: str, timeout_s: float = 60) -> str:
        """The screen's text once `condition(text)` holds; fails after `timeout_s` with the screen.

        A deadline, not a timing: the program draws as soon as it knows, and a loaded machine
        only makes that later.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            alive = self.pump()
            text = self.text()
            if condition(text):
                return text
            if not alive or time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed {what}:\n{text}")

    def wait_exit(self, timeout_s: float = 60) -> int:
        """The exit status, once the program has ended (reading what it still writes)."""
        deadline = time.monotonic() + timeout_s
        while self.pump() and time.monotonic() < deadline:
            pass
        self.child.close(force=False)
        if self.child.exitstatus is None:
            raise AssertionError(f"ended by signal {self.child.signalstatus}:\n{self.text()}")
        return int(self.child.exitstatus)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
