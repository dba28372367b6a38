"""What a change costs: `bench.engine` on Redis for two commits, alternating, side by side.

Each round runs the engine suite once in a checkout of `--base` and once in one of `--head`
(default HEAD), on the same machine at nearly the same moment, so their ratio cancels most
of the noise; the figure is the median ratio over the rounds.

    python -m bench.overhead --base fde1d75 [--head HEAD] [--rounds 5] [--backends redis]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

FIGURES = ("submit 1/s", "batch100/s", "lease+complete/s")
ROOT = Path(__file__).resolve().parent.parent


def run_engine(tree: Path, backend: str) -> list[float]:
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}:{tree}"}
    command = [sys.executable, "-m", "bench.engine", "--backends", backend, "--depths", "10000", "--repeat", "1"]
    out = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith(backend))
    return [float(value.replace(",", "")) for value in line.split()[2:5]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--head", default="HEAD", help="the commit measured against it")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backends", default="redis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base, head = Path(tmp) / "base", Path(tmp) / "head"
        for tree, commit in ((base, args.base), (head, args.head)):
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), commit], cwd=ROOT, check=True)
        try:
            for backend in args.backends.split(","):
                ratios: list[list[float]] = [[] for _ in FIGURES]
                for round_ in range(args.rounds):
                    before, after = run_engine(base, backend), run_engine(head, backend)
                    print(f"{backend} round {round_ + 1}: base {before} head {after}", flush=True)
                    for i, (b, a) in enumerate(zip(before, after, strict=True)):
                        ratios[i].append(a / b)
                for name, values in zip(FIGURES, ratios, strict=True):
                    print(f"{backend:7} {name:17} head/base median {statistics.median(values):.3f}")
        finally:
            for tree in (base, head):
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
