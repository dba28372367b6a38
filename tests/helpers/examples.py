"""A worker example (a client's README worker, or `taskline worker`) run as a process against a
live server: started, waited for until it is in the worker registry, and stopped as an operator
would, with SIGTERM, after which it must exit 0 and have left the registry at once (it said so,
rather than being dropped a minute after its last beat)."""

import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.live import stop, wait_until


def registered(http: httpx.Client) -> list[dict[str, Any]]:
    """The worker registry (`/admin/workers`, an admin's client)."""
    response = http.get("/admin/workers")
    assert response.status_code == 200, response.text
    return list(response.json()["workers"])


class ExampleWorker:
    """A running example, found in the registry by its pid (each client reports its own)."""

    def __init__(self, process: "subprocess.Popen[bytes]", log: Path, http: httpx.Client) -> None:
        self.process = process
        self.log = log
        self.id = ""
        self._http = http
        self._stopped = False

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def find(self) -> dict[str, Any] | None:
        """Its registry record, once it has registered; it must not have exited meanwhile."""
        assert self.process.poll() is None, f"the worker exited:\n{self.output()}"
        return next((w for w in registered(self._http) if w.get("pid") == self.process.pid), None)

    def stop(self) -> None:
        """SIGTERM: it exits 0 and is gone from the registry. Once; later calls do nothing."""
        if self._stopped:
            return
        self._stopped = True
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, self.output()
        assert self.id not in [w["id"] for w in registered(self._http)], f"{self.id} did not leave the registry"


@contextmanager
def example_worker(
    argv: Sequence[str | Path],
    *,
    http: httpx.Client,
    env: dict[str, str],
    log: Path,
    cwd: Path | None = None,
    timeout_s: float = 60,
) -> Iterator[ExampleWorker]:
    """Start `argv` (its output in `log`) and yield it once it is in the registry `http` reads.

    Leaving the block normally stops it with `ExampleWorker.stop()` and its checks (a no-op if
    the test stopped it already); leaving on an error only makes sure it is gone (SIGTERM, then
    SIGKILL), so the first failure is the one reported.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    worker = ExampleWorker(process, log, http)
    try:
        wait_until(worker.find, timeout_s=timeout_s, what=f"{' '.join(map(str, argv))} to register")
        found = worker.find()
        assert found is not None
        worker.id = found["id"]
        yield worker
        worker.stop()
    finally:
        stop(process)
