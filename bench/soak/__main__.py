"""`python -m bench.soak [--minutes 60] [--rate 100] [--workers 3] [--out docs]`; or
`--analyse RECORDING.json` to judge a recording again (e.g. with other thresholds).

Writes OUT/soak.json (settings, faults, every memory sample, latency per minute, verdict),
OUT/soak.svg and OUT/soak-table.md, and the raw recording (every latency) to the work dir.
Exits 1 when memory is not flat after warm-up or latency drifted.
"""

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.soak.analysis import Thresholds, verdict
from bench.soak.report import summary, svg, table
from bench.soak.run import Options, Recording, soak


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, flush=True)


def compact_json(document: dict[str, Any]) -> str:
    """One line per top-level key: an hour's samples stay ~100 kB and a diff still shows which
    part changed."""
    lines = [f"{json.dumps(key)}: {json.dumps(value, separators=(',', ':'))}" for key, value in document.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=100.0, help="tasks submitted a second")
    parser.add_argument("--producers", type=int, default=16, help="threads submitting, each its own Client")
    parser.add_argument(
        "--workers", type=int, default=4, help="worker processes: even over HTTP, odd on Redis; 0 and 1 never killed"
    )
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--sample-s", type=float, default=10.0, help="seconds between memory samples")
    parser.add_argument("--retention", type=float, default=120.0, help="TASKLINE_RETENTION: finished tasks kept (s)")
    parser.add_argument("--out", type=Path, default=Path("docs"), help="where soak.json/.svg/-table.md go")
    parser.add_argument("--workdir", type=Path, default=None, help="logs and the raw recording (default: a tmp dir)")
    parser.add_argument("--analyse", type=Path, default=None, help="judge this raw recording instead of running")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    if args.analyse:
        raw = json.loads(args.analyse.read_text())
        recording = Recording(**raw["recording"])
        settings = raw["settings"]
    else:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="taskline-soak-"))
        workdir.mkdir(parents=True, exist_ok=True)
        log(f"work dir {workdir}")
        options = Options(
            args.minutes,
            args.rate,
            args.producers,
            args.workers,
            args.concurrency,
            args.sample_s,
            args.retention,
            workdir,
        )
        settings = {k: str(v) for k, v in dataclasses.asdict(options).items()}
        recording = soak(options, log)
        raw_path = workdir / "recording.json"
        raw_path.write_text(json.dumps({"settings": settings, "recording": dataclasses.asdict(recording)}))
        log(f"raw recording {raw_path}")
    judged = verdict(
        recording.memory,
        {"task end-to-end": recording.tasks, "submit": recording.submits},
        recording.duration,
        Thresholds(),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(compact_json(summary(recording, judged, settings)))
    (args.out / "soak.svg").write_text(svg(recording))
    (args.out / "soak-table.md").write_text(table(recording))
    print(table(recording))
    print(
        f"acknowledged {recording.acknowledged:,}, completions seen {len(recording.tasks):,}, "
        f"submit errors {recording.submit_errors}, skipped ticks {recording.skipped}, lagged {recording.lagged}"
    )
    for fault_at, what in recording.faults:
        print(f"fault at {fault_at / 60:.1f} min: {what}")
    for line in judged.lines():
        print(line)
    if recording.aborted:
        print(f"the run stopped early: {recording.aborted}")
    return 0 if judged.ok and not recording.aborted else 1


if __name__ == "__main__":
    sys.exit(main())
