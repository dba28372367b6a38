"""BullMQ (Node): `queue.add()` and a `Worker`, driven as subprocesses of bullmq/*.mjs.

Enqueue time is measured inside the Node producer, around the `queue.add` calls only, as
it is for the Python peers; node's start-up is not counted.
"""

import json
import shutil
import subprocess
from pathlib import Path

from bench.peers.base import Peer as BasePeer

PROJECT = Path(__file__).parent / "bullmq"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed")
    if not (PROJECT / "node_modules" / "bullmq").is_dir():
        raise RuntimeError(f"bullmq is not installed: run `npm ci` in {PROJECT} (make bench-peers does)")
    return node


class Peer(BasePeer):
    name = "bullmq"
    setup = "ioredis, Worker default concurrency=1 a process"

    def _produce(self, *args: str) -> str:
        done = subprocess.run(
            [_node(), "producer.mjs", *args], cwd=PROJECT, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"producer.mjs exited with {done.returncode}: {done.stderr.strip()[-600:]}")
        return done.stdout

    def enqueue(self, count: int) -> float:
        return float(json.loads(self._produce("enqueue", self.redis_url, str(count)))["seconds"])

    def enqueue_probes(self, rate: float, count: int) -> None:
        self._produce("probes", self.redis_url, str(count), str(rate))

    def worker_command(self, index: int) -> list[str]:
        return [_node(), str(PROJECT / "worker.mjs"), self.redis_url]
