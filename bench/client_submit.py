"""One producer submitting one task after another with the blocking `taskline.Client`, over
HTTP (one `taskline serve` on Redis) and straight on Redis, for two source trees side by side.

Each round runs the loop in a fresh process once per tree and target, alternating, against
the same Redis and server (started from this tree), so their ratio cancels most of the
noise; the figures are medians over the rounds. Besides the rate it prints the producer
process's CPU per submit: the client's own cost, which the server's or Redis's load does not
move (on a busy machine the rate mostly measures the server's share of the cores).

    python -m bench.client_submit --base /work/main [--tasks 1000] [--rounds 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.live import live_server
from tests.helpers.servers import RedisServer

ROOT = Path(__file__).resolve().parent.parent
LOOP = """
import sys, time, taskline
with taskline.Client(sys.argv[1]) as client:
    client.submit("bench", {"n": -1})  # connect outside the timing
    tasks = int(sys.argv[2])
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(tasks):
        client.submit("bench", {"n": n})
    print(tasks / (time.perf_counter() - started), (time.process_time() - cpu) / tasks * 1e6)
"""


def submit_rate(tree: Path, url: str, tasks: int) -> tuple[float, float]:
    """Submits a second, and the producer's CPU µs per submit."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    command = [sys.executable, "-c", LOOP, url, str(tasks)]
    rate, cpu = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout.split()
    return float(rate), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the source tree to compare against")
    parser.add_argument("--head", type=Path, default=ROOT, help="the source tree measured against it")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trees = {"base": args.base, "head": args.head}
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp))
        redis.start()
        try:
            with live_server(Path(tmp), redis_url=redis.url, log_level="warning") as server:
                targets = {"http": server.url, "redis": redis.url}
                rates: dict[tuple[str, str], list[float]] = {(t, n): [] for t in targets for n in trees}
                cpus: dict[tuple[str, str], list[float]] = {(t, n): [] for t in targets for n in trees}
                started = time.monotonic()
                for _ in range(args.rounds):
                    for target, url in targets.items():
                        for name, tree in trees.items():
                            rate, cpu = submit_rate(tree, url, args.tasks)
                            rates[target, name].append(rate)
                            cpus[target, name].append(cpu)
        finally:
            redis.kill()
    print(f"{args.rounds} rounds of {args.tasks} submits in {time.monotonic() - started:.0f} s")
    print(f"{'target':<8} {'base/s':>8} {'head/s':>8} {'head/base':>10} {'CPU µs base':>12} {'head':>6}")
    for target in targets:
        base, head = (statistics.median(rates[target, name]) for name in trees)
        ratios = [h / b for b, h in zip(rates[target, "base"], rates[target, "head"], strict=True)]
        cpu_base, cpu_head = (statistics.median(cpus[target, name]) for name in trees)
        ratio = statistics.median(ratios)
        print(f"{target:<8} {base:>8.0f} {head:>8.0f} {ratio:>9.2f}× {cpu_base:>12.0f} {cpu_head:>6.0f}")


if __name__ == "__main__":
    main()
