"""A server started while its Redis is down waits for it (found by the chaos run: a `taskline
serve` restarted while redis-server restarted exited with "Application startup failed"), and
still ends at once on SIGTERM while it waits; a Redis that answers "no" is not waited for."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis

from taskline.backends.redis.codec import FORMAT_VERSION
from taskline.config import Settings
from taskline.errors import BackendUnavailable
from taskline.server import Server
from tests.helpers.live import wait_until
from tests.helpers.servers import RedisServer, free_port


def serve(tmp_path: Path, redis_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    env |= {"TASKLINE_REDIS_URL": redis_url, "TASKLINE_PORT": str(port)}
    with (tmp_path / "serve.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "taskline", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_serve_started_before_its_redis_comes_up_with_it(tmp_path: Path) -> None:
    store = RedisServer(tmp_path)  # its port chosen, nothing listening there yet
    port = free_port()
    process = serve(tmp_path, store.url, port)
    log = tmp_path / "serve.log"
    try:
        wait_until(lambda: "trying again in" in log.read_text(), what="the server to find Redis down")
        assert process.poll() is None, log.read_text()
        store.start()
        wait_until(lambda: healthy(port), timeout_s=60, what="the server to come up once Redis did")
    finally:
        process.kill()
        process.wait()
        store.kill()


def test_sigterm_ends_a_server_waiting_for_redis(tmp_path: Path) -> None:
    process = serve(tmp_path, f"redis://127.0.0.1:{free_port()}/0", free_port())
    log = tmp_path / "serve.log"
    try:
        wait_until(lambda: "trying again in" in log.read_text(), what="the server to find Redis down")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) != 0  # startup failed: a supervisor sees it did not serve
    finally:
        process.kill()
        process.wait()


async def test_a_redis_that_refuses_is_not_waited_for(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.set("taskline:format", FORMAT_VERSION + 1)  # a newer Taskline's data: an answer, not silence
    with pytest.raises(BackendUnavailable, match="a newer Taskline's"):
        await Server(Settings(redis_url=redis_url)).start()
