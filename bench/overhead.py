"""What a change costs: a benchmark on Redis for two commits, alternating, side by side.

Each round runs the suite once in a checkout of `--base` and once in one of `--head` (default
HEAD), on the same machine at nearly the same moment, so their ratio cancels most of the
noise; the figure is the median ratio over the rounds. Suites: `engine` (bench.engine, the
backend in process) and `readme` (bench.readme_shapes from this tree, run against each
commit's package: the blocking Client and a `def` handler in `taskline worker`, straight on
Redis; `readme-http` the same through one `taskline serve`).

    python -m bench.overhead --base fde1d75 [--head HEAD] [--rounds 5] [--suite engine|readme|readme-http]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {
    "engine": ("submit 1/s", "batch100/s", "lease+complete/s"),
    "readme": ("Client.submit/s", "def drain/s"),
    "readme-http": ("Client.submit/s", "def drain/s"),
}


def run_engine(tree: Path) -> list[float]:
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}:{tree}"}
    command = [sys.executable, "-m", "bench.engine", "--backends", "redis", "--depths", "10000", "--repeat", "1"]
    out = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("redis"))
    return [float(value.replace(",", "")) for value in line.split()[2:5]]


def run_readme(tree: Path, over: str = "redis") -> list[float]:
    # The harness (and its handler module) from this tree; the package under test from `tree`.
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}:{ROOT}"}
    command = [sys.executable, "-m", "bench.readme_shapes", "--over", over]
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    words = out.split()
    return [float(words[1]), float(words[3])]


SUITES = {"engine": run_engine, "readme": run_readme, "readme-http": partial(run_readme, over="http")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--head", default="HEAD", help="the commit measured against it")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--suite", choices=sorted(FIGURES), default="engine")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base, head = Path(tmp) / "base", Path(tmp) / "head"
        for tree, commit in ((base, args.base), (head, args.head)):
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), commit], cwd=ROOT, check=True)
        try:
            run = SUITES[args.suite]
            figures = FIGURES[args.suite]
            ratios: list[list[float]] = [[] for _ in figures]
            for round_ in range(args.rounds):
                before, after = run(base), run(head)
                print(f"round {round_ + 1}: base {before} head {after}", flush=True)
                for i, (b, a) in enumerate(zip(before, after, strict=True)):
                    ratios[i].append(a / b)
            for name, values in zip(figures, ratios, strict=True):
                print(f"{name:17} head/base median {statistics.median(values):.3f}")
        finally:
            for tree in (base, head):
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
