"""`python -m bench.peers [--jobs 20000] [--peers celery,rq,...] [--repeat 3]`: run and print the table.

Starts one redis-server on a free loopback port for the whole run; runs every peer once
per repeat, peers interleaved so a busy moment on the shared machine is spread over all of
them; prints the table and writes the raw figures and worker logs under bench/results/.
"""

import argparse
import dataclasses
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.servers import RedisServer

from bench.peers import probe
from bench.peers.base import Peer
from bench.peers.measure import REPO, Figures, Settings, run_once
from bench.peers.report import render, summarize

PEERS = {  # name: "module:class", Taskline first (the baseline of every ratio)
    "taskline": "bench.peers.taskline:Peer",
    "taskline-sync": "bench.peers.taskline:BlockingPeer",
    "taskline-http": "bench.peers.taskline:HttpPeer",
    "taskline-http-sync": "bench.peers.taskline:HttpBlockingPeer",
    "celery": "bench.peers.celery:Peer",
    "rq": "bench.peers.rq:Peer",
    "rq-simple": "bench.peers.rq:SimplePeer",
    "arq": "bench.peers.arq:Peer",
    "dramatiq": "bench.peers.dramatiq:Peer",
    "huey": "bench.peers.huey:Peer",
    "taskiq": "bench.peers.taskiq:Peer",
    "saq": "bench.peers.saq:Peer",
    "bullmq": "bench.peers.bullmq:Peer",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs to enqueue and drain (default 20000)")
    parser.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated, of: {','.join(PEERS)}")
    parser.add_argument("--repeat", type=int, default=3, help="runs per peer; the table shows medians")
    parser.add_argument("--rate", type=float, default=500.0, help="latency probes a second (default 500)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long latency probes are sent")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="seconds before a drain is cut short")
    args = parser.parse_args(argv)
    args.peers = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = sorted(set(args.peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}")
    if args.jobs < 1 or args.repeat < 1 or args.rate <= 0 or args.seconds <= 0:
        parser.error("--jobs, --repeat, --rate and --seconds must be positive")
    return args


def load(name: str) -> type[Peer]:
    """Import an adapter only now: its module connects its app to the server at import."""
    module, _, attribute = PEERS[name].partition(":")
    peer: type[Peer] = getattr(importlib.import_module(module), attribute)
    return peer


def run(args: argparse.Namespace, url: str, logdir: Path) -> dict[str, tuple[str, list[Figures]]]:
    settings = Settings(args.jobs, args.rate, args.seconds, args.drain_timeout, logdir)
    results: dict[str, tuple[str, list[Figures]]] = {}
    for round in range(args.repeat):
        for name in args.peers:
            try:
                peer_class = load(name)
                setup, figures = peer_class.setup, run_once(peer_class(url), settings)
            except Exception as exc:  # the adapter cannot even be imported: say why and go on
                setup, figures = "(not loaded)", Figures(error=f"{type(exc).__name__}: {exc}")
            results.setdefault(name, (setup, []))[1].append(figures)
            print(f"[{round + 1}/{args.repeat}] {name}: {_line(figures)}", file=sys.stderr, flush=True)
    return results


def _line(figures: Figures) -> str:
    shown = {key: round(value, 1) for key, value in dataclasses.asdict(figures).items() if isinstance(value, float)}
    return f"{shown} {figures.error or ''} {'; '.join(figures.notes)}".strip()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    outdir = REPO / "bench" / "results" / f"peers-{stamp}"
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        server = RedisServer(Path(workdir))
        server.start()
        os.environ[probe.URL_ENV] = server.url
        try:
            results = run(args, server.url, outdir)
        finally:
            server.kill()
    summaries = [summarize(name, setup, runs) for name, (setup, runs) in results.items()]
    table = render(summaries, jobs=args.jobs, repeat=args.repeat, rate=args.rate, seconds=args.seconds)
    raw = {
        name: {"setup": setup, "runs": [dataclasses.asdict(r) for r in runs]} for name, (setup, runs) in results.items()
    }
    (outdir / "figures.json").write_text(json.dumps(raw, indent=2))
    (outdir / "table.txt").write_text(table + "\n")
    print(table)
    print(f"\nraw figures and worker logs: {outdir.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
