"""The README's shapes on Redis: the blocking `taskline.Client` submitting one task after
another, then `taskline worker` draining them with a plain `def` handler.

Prints `submit <tasks/s> drain <tasks/s>`. The drain is timed from the first completion to
the last, so the worker's start-up is not in it. `bench/overhead.py --suite readme` runs it
for two commits side by side.

    python -m bench.readme_shapes [--tasks 3000]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.servers import RedisServer

import taskline
from taskline.core.states import TaskState

app = taskline.App()


@app.task("noop")
def noop(payload: dict[str, int]) -> None:
    """The README's shape: a plain function, called with the payload."""


def completed(client: taskline.Client) -> int:
    return client.stats().states[TaskState.COMPLETED]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        worker = None
        try:
            with taskline.Client(server.url) as client:
                started = time.perf_counter()
                for n in range(args.tasks):
                    client.submit("noop", {"n": n})
                submit_rate = args.tasks / (time.perf_counter() - started)
                env = {**os.environ, "TASKLINE_REDIS_URL": server.url, "TASKLINE_LOG_LEVEL": "warning"}
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
            server.kill()
    print(f"submit {submit_rate:.0f} drain {drain_rate:.0f}")


if __name__ == "__main__":
    main()
