"""A real `taskline serve` process on a free loopback port, for end-to-end tests."""

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.helpers.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]

# httpx builds a TLS context (loading a CA bundle, ~50 ms of CPU) for every client it makes, and
# these servers speak plain HTTP: one context, made once, spares that CPU on every `client()`.
_TLS = ssl.create_default_context()


def clean_env() -> dict[str, str]:
    """This process's environment without `TASKLINE_*` settings, for a child that must take only
    the settings its test gives it (a developer's shell may export some)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}


class LiveServer:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    def client(self, api_key: str | None = None, timeout: float = 30) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout, verify=_TLS)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def live_server(
    workdir: Path, *, redis_url: str | None = None, port: int | str | None = None, **env: str
) -> Iterator[LiveServer]:
    """Start `taskline serve` with `TASKLINE_*` settings from `env`; stop it with SIGTERM.

    `port` (a free one by default) is a parameter, not a setting in `env`: the helper must know
    it, to wait for `/health` where the server listens and to hand out its URL. Pass the same
    port again to restart a server on the address its clients already know.
    """
    if "port" in {name.lower() for name in env}:
        raise TypeError("pass the port as live_server(port=...), so the helper waits on it")
    port = free_port() if port is None else int(port)  # str too: callers forward **settings
    settings = {
        "TASKLINE_PORT": str(port),
        "TASKLINE_SQLITE_PATH": str(workdir / "taskline.db"),
        "TASKLINE_RATE_LIMIT_RPS": "0",
        **({"TASKLINE_REDIS_URL": redis_url} if redis_url else {}),
        **{f"TASKLINE_{name.upper()}": value for name, value in env.items()},
    }
    log = workdir / f"server-{port}-{time.monotonic_ns()}.log"  # a restart keeps the first run's log
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "taskline", "serve"],
            env={**clean_env(), **settings},
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(process, port, log)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        stop(process)


def _wait_until_healthy(server: LiveServer) -> None:
    # Generous: a start takes about a second here, but a 2-core machine under a full `-n auto`
    # run (or six sessions' tests at once) has taken longer than 20 s; a dead server fails at once.
    deadline = time.monotonic() + 60
    # One client for all the asking: `httpx.get` would build a client, and its TLS context, each
    # time, which took the starting server's CPU on a small machine.
    with server.client(timeout=1) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"taskline serve exited:\n{server.output()}")
            try:
                if http.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # readiness is asked for, not assumed: this only paces the asking
    raise RuntimeError(f"taskline serve did not become healthy:\n{server.output()}")


def wait_until(condition: Callable[[], object], *, timeout_s: float = 20, what: str = "the condition") -> None:
    """Ask `condition` until it holds: for state another process changes, which no event announces."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # paces the asking; the condition, not the sleep, is what is waited for


class WorkerProcess:
    """A `taskline worker` child process with its output in a file."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def worker_process(
    workdir: Path, *args: str, environ: dict[str, str] | None = None, **env: str
) -> Iterator[WorkerProcess]:
    """Start `taskline worker ARGS` from the repository root (so `tests.…` apps import) with
    `TASKLINE_*` settings from `env` (and other variables from `environ`); on exit SIGTERM it
    and wait, if still running."""
    settings = {**(environ or {}), **{f"TASKLINE_{name.upper()}": value for name, value in env.items()}}
    log = workdir / f"worker-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "taskline", "worker", *args],
            env={**clean_env(), **settings},
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log)
    try:
        yield worker
    finally:
        stop(process)


def stop(process: "subprocess.Popen[bytes]") -> None:
    """SIGTERM, as an operator would; SIGKILL if it is still there 15 s later."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
