"""A chaos run: deploy, load, inject faults, let it settle, read everything back, judge.

    python -m tests.chaos.run --backend redis --tasks 100000      (`make chaos` runs both backends)

Redis: redis-server (appendonly yes, appendfsync always: the zero-loss configuration), two
`taskline serve` instances, a Python worker over HTTP on each, and one straight on Redis.
SQLite: one `taskline serve` (API, scheduler and webhooks in one process) and two HTTP workers.
The exit status is 1 when the checker finds a violation.
"""

import argparse
import json
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson

from taskline.wire import from_rfc3339
from tests.chaos.checker import Bounds, Violation, check, scheduler_outages
from tests.chaos.faults import Driver, Targets
from tests.chaos.history import Accepted, Final, Heartbeat, History, Leased
from tests.chaos.processes import ChaosWorker, Child, Redis, Serve, wait_for
from tests.chaos.receiver import Receiver
from tests.chaos.workload import Mix, Observer, Submitter
from tests.helpers.servers import RedisServer, free_port

Backend = Literal["redis", "sqlite"]
WAITING = ("pending", "scheduled", "retrying", "running")


@dataclass(slots=True)
class Plan:
    backend: Backend
    tasks: int
    rate: float = 400.0
    """Submitted tasks a second: with `tasks`, how long the faults go on."""
    fault_gap_s: float = 2.0
    """The mean time between the end of one fault and the next."""
    lease_s: float = 2.0
    seed: int = 1
    concurrency: int = 8
    http_workers: int = 2
    faults_each: int | None = None
    """Stop after this many faults of each kind (None: faults go on while tasks are submitted)."""


@dataclass(slots=True)
class Report:
    plan: Plan
    history: History
    violations: list[Violation]
    faults: Counter[str]
    duration_s: float
    unacknowledged: int
    submit_errors: dict[str, int]
    requests: dict[str, int]
    refused_webhooks: int
    looks: int
    fault_failures: list[str]
    fault_log: list[tuple[float, str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        finals = self.history.finals.values()
        acknowledged = {s.id for s in self.history.submitted}
        kinds = Counter(s.kind for s in self.history.submitted)
        deliveries = Counter(d.delivery_id for d in self.history.delivered)
        return {
            "backend": self.plan.backend,
            "tasks_acknowledged": len(acknowledged),
            "kinds": dict(kinds),
            "scheduled": sum(1 for s in self.history.submitted if s.scheduled_at is not None),
            "with_webhook": sum(1 for s in self.history.submitted if s.webhook),
            "submit_requests": self.requests,
            "tasks_in_failed_submits": self.unacknowledged,
            "submit_errors": self.submit_errors,
            "unacknowledged_tasks_found": sum(1 for f in finals if f.id not in acknowledged),
            "final_states": dict(Counter(f.state for f in finals)),
            "lease_expiries": sum(e in ("lease expired", "timeout") for f in finals for e in f.errors),
            "accepted_outcomes": len(self.history.accepted),
            "leases": len(self.history.leased),
            "running_looks": self.looks,
            "webhook_deliveries": len(self.history.delivered),
            "webhook_redeliveries": sum(n - 1 for n in deliveries.values()),
            "webhook_refusals": self.refused_webhooks,
            "faults": dict(self.faults),
            "faults_not_carried_out": self.fault_failures,
            "violations": len(self.violations),
            "duration_s": round(self.duration_s, 1),
        }


def deploy(plan: Plan, workdir: Path, webhook_url: str) -> tuple[list[Serve], list[ChaosWorker], Redis | None]:
    settings = {
        "lease_seconds": str(plan.lease_s),
        "backoff_base": "0.05",
        "backoff_cap": "0.5",
        "webhook_allow_private": "true",
        "rate_limit_rps": "0",
        "log_level": "warning",
        "shutdown_timeout": "5",
        "sqlite_path": str(workdir / "taskline.db"),
    }
    redis: Redis | None = None
    if plan.backend == "redis":
        redis = Redis(RedisServer(workdir, appendonly=True, fsync="always"), workdir / "redis.log")
        redis.start()
        settings["redis_url"] = redis.server.url
    instances = 2 if plan.backend == "redis" else 1
    serves = [Serve(f"serve{i}", free_port(), settings, workdir / f"serve{i}.log") for i in range(instances)]
    for serve in serves:  # all starting at once, then each waited for: a start takes seconds of CPU
        serve.launch()
    for serve in serves:
        serve.ready()
    over_http = {k: v for k, v in settings.items() if k != "redis_url"}
    workers = [
        ChaosWorker(f"http-worker{i}", workdir / f"http-worker{i}.jsonl", {**over_http, "server": serve.url},
                    workdir / f"http-worker{i}.log", plan.concurrency)
        for i, serve in enumerate((serves * plan.http_workers)[: plan.http_workers])
    ]  # fmt: skip
    if redis is not None:
        workers.append(
            ChaosWorker(
                "redis-worker", workdir / "redis-worker.jsonl", settings, workdir / "redis-worker.log", plan.concurrency
            )
        )
    for worker in workers:
        worker.start()
    return serves, workers, redis


def run(plan: Plan, workdir: Path, *, progress: bool = False) -> Report:
    began = time.monotonic()
    with Receiver() as receiver:
        serves, workers, redis = deploy(plan, workdir, receiver.url)
        _say(progress, f"deployed in {time.monotonic() - began:.1f} s")
        children: list[Child] = [*workers, *serves, *([redis] if redis else [])]
        try:
            urls = [s.url for s in serves]
            submitter = Submitter(urls, plan.tasks, plan.rate, plan.seed, receiver.url, Mix())
            observer = Observer(urls, every_s=0.5)
            targets = Targets(serves, workers, redis)
            driver = Driver(targets, plan.lease_s, plan.fault_gap_s, plan.seed, each=plan.faults_each)
            stop_faults, stop_looking = threading.Event(), threading.Event()
            threads = [
                threading.Thread(target=driver.run, args=(stop_faults,), name="chaos-faults", daemon=True),
                threading.Thread(target=observer.run, args=(stop_looking,), name="chaos-observer", daemon=True),
            ]
            if progress:
                telling = threading.Thread(
                    target=_tell,
                    args=(urls[0], submitter, driver, began, stop_looking),
                    name="chaos-progress",
                    daemon=True,
                )
                threads.append(telling)
            for thread in threads:
                thread.start()
            try:
                submitter.run(threading.Event())
                if plan.faults_each is None:
                    stop_faults.set()  # else the driver ends once it has made its quota of faults
                threads[0].join()
                _say(progress, f"submitted {len(submitter.submitted)} in {time.monotonic() - began:.0f} s; settling")
                for child in children:  # no fault is under way, but one may have failed to start a process
                    child.resume()
                    if not child.alive():
                        child.start()
                settle(urls[0], timeout_s=600 + plan.tasks / 20)
                stop_looking.set()
                threads[1].join()
                _say(progress, f"settled at {time.monotonic() - began:.0f} s")
                webhooks = {s.id for s in submitter.submitted if s.webhook}
                wait_for(lambda: webhooks <= receiver.task_ids(), what="every webhook", timeout_s=120)
                _say(progress, f"webhooks in at {time.monotonic() - began:.0f} s")
                finals = read_finals(urls[0])
            finally:
                stop_faults.set()
                stop_looking.set()
                threads[0].join()
        finally:
            for child in children:
                child.terminate()
        history = History(
            submitted=submitter.submitted,
            seen_running=observer.seen,
            delivered=list(receiver.delivered),
            finals=finals,
        )
        for worker in workers:
            read_record(worker.record, history)
        history.outages = scheduler_outages([s.downs for s in serves], redis.downs if redis else [])
        violations = check(history, Bounds(lease_s=plan.lease_s))
        return Report(
            plan, history, violations, driver.injected, time.monotonic() - began, submitter.unacknowledged,
            submitter.errors, submitter.requests, receiver.refused, observer.looks, driver.failures, driver.log,
        )  # fmt: skip


def _tell(url: str, submitter: Submitter, driver: Driver, began: float, stop: threading.Event) -> None:
    """Every half minute, how far the run is: for a person watching a long run."""
    while not stop.wait(30):  # pacing: a line every half minute is the point
        try:
            states = httpx.get(f"{url}/api/v1/stats", timeout=5).json()["states"]
        except (httpx.HTTPError, ValueError, KeyError):
            states = "(no answer)"
        faults = sum(driver.injected.values())
        _say(
            True,
            f"{time.monotonic() - began:.0f} s: {len(submitter.submitted)} acknowledged, {faults} faults, {states}",
        )


def _say(progress: bool, message: str) -> None:
    if progress:
        print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def settle(url: str, *, timeout_s: float) -> None:
    """Wait until the backend holds nothing waiting or running."""

    def quiet() -> bool:
        try:
            states = httpx.get(f"{url}/api/v1/stats", timeout=5).json()["states"]
        except (httpx.HTTPError, ValueError, KeyError):
            return False
        return all(states[s] == 0 for s in WAITING)

    wait_for(quiet, what="the backend to settle", timeout_s=timeout_s)


def read_finals(url: str) -> dict[str, Final]:
    finals: dict[str, Final] = {}
    cursor: str | None = None
    with httpx.Client(base_url=url, timeout=30) as client:
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/tasks", params=params).raise_for_status().json()
            for task in page["tasks"]:
                result = task["result"]
                finals[task["id"]] = Final(
                    task["id"],
                    task["state"],
                    task["attempts"],
                    task["max_retries"],
                    tuple(e["error"] for e in task["errors"]),
                    result_attempt=result.get("attempt") if isinstance(result, dict) else None,
                    started_at=from_rfc3339(task["started_at"]),
                )
            cursor = page["next_cursor"]
            if cursor is None:
                return finals


def read_record(path: Path, history: History) -> None:
    """A worker's record into `history`; a last line cut short by a SIGKILL is dropped."""
    if not path.exists():
        return
    for raw in path.read_bytes().splitlines():
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if line["k"] == "lease":
            history.leased.append(Leased(line["task"], line["token"], line["attempt"]))
        elif line["k"] == "hb":
            history.heartbeats.append(Heartbeat(line["task"], line["token"], line["at"]))
        else:
            history.accepted.append(Accepted(line["task"], line["token"], line["k"], line["state"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["redis", "sqlite"], required=True)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=400.0, help="tasks submitted a second")
    parser.add_argument("--fault-gap", type=float, default=2.0, help="mean seconds between faults")
    parser.add_argument("--lease", type=float, default=2.0, help="TASKLINE_LEASE_SECONDS")
    parser.add_argument("--faults-each", type=int, help="stop after this many faults of each kind")
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep logs and records here (default: a temporary directory)")
    args = parser.parse_args()
    # A run stopped with SIGTERM (nohup'd runs ignore SIGINT) still stops what it started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    plan = Plan(
        args.backend,
        args.tasks,
        rate=args.rate,
        fault_gap_s=args.fault_gap,
        lease_s=args.lease,
        seed=args.seed,
        faults_each=args.faults_each,
        http_workers=args.http_workers,
    )
    with tempfile.TemporaryDirectory(prefix="taskline-chaos-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        report = run(plan, workdir, progress=True)
    for took, kind, target in report.fault_log:
        print(f"fault {kind} {target}: {took:.1f} s")
    print(json.dumps(report.summary(), indent=2))
    for violation in report.violations[:50]:
        print(f"VIOLATION {violation.check} {violation.task_id}: {violation.detail}")
    sys.exit(1 if report.violations or report.fault_failures else 0)


if __name__ == "__main__":
    main()
