"""The README's shapes: the blocking `taskline.Client` submitting one task after another,
then `taskline worker` draining them with a plain `def` handler — straight on Redis
(`--over redis`, the default), or through one `taskline serve` on that Redis (`--over http`:
the client and the worker over HTTP, as any language would use it).

Prints `submit <tasks/s> drain <tasks/s>`. The drain is timed from the first completion to
the last, so the worker's start-up is not in it. `bench/overhead.py --suite readme` (and
`readme-http`) runs it for two commits side by side.

    python -m bench.readme_shapes [--tasks 3000] [--over redis|http]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.live import live_server
from tests.helpers.servers import RedisServer

import taskline
from taskline.core.states import TaskState

app = taskline.App()


@app.task("noop")
def noop(payload: dict[str, int]) -> None:
    """The README's shape: a plain function, called with the payload."""


def completed(client: taskline.Client) -> int:
    return client.stats().states[TaskState.COMPLETED]


@contextmanager
def endpoint(workdir: Path, over: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The URL a producer uses and the worker's settings, for a fresh Redis."""
    redis = RedisServer(workdir)
    redis.start()
    try:
        if over == "redis":
            yield redis.url, {"TASKLINE_REDIS_URL": redis.url}
        else:
            with live_server(workdir, redis_url=redis.url, log_level="warning") as server:
                yield server.url, {"TASKLINE_SERVER": server.url}
    finally:
        redis.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--over", choices=("redis", "http"), default="redis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, endpoint(Path(tmp), args.over) as (url, settings):
        worker = None
        try:
            with taskline.Client(url) as client:
                started = time.perf_counter()
                for n in range(args.tasks):
                    client.submit("noop", {"n": n})
                submit_rate = args.tasks / (time.perf_counter() - started)
                clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
                env = {**clean, **settings, "TASKLINE_LOG_LEVEL": "warning"}
                command = [sys.executable, "-m", "taskline", "worker", "bench.readme_shapes:app", "--concurrency", "10"]
                worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while (first := completed(client)) == 0:  # the count is the measure: look every 10 ms
                    time.sleep(0.01)
                started = time.perf_counter()
                while (done := completed(client)) < args.tasks:
                    time.sleep(0.01)
                drain_rate = (done - first) / (time.perf_counter() - started)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait()
    print(f"submit {submit_rate:.0f} drain {drain_rate:.0f}")


if __name__ == "__main__":
    main()
