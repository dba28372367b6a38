"""HTTP benchmark: a real `taskline serve` under load from separate processes.

Submits are driven by wrk (C, so the load generator is not what we measure); the
poll→complete drain by worker processes of plain `http.client` loops, as a worker in any
language would do it, and again with each batch's outcomes in one `/outcomes` request that
leases the next batch (one request per ten tasks). Each figure is the median of `--repeat` runs.

    python -m bench.api [--backends sqlite,redis] [--seconds 5] [--repeat 3] [--workers 8]
"""

import argparse
import http.client
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers.live import LiveServer, live_server
from tests.helpers.servers import RedisServer

WRK_SCRIPT = Path(__file__).parent / "wrk" / "submit.lua"
TASK = {"type": "noop", "queue": "bench", "payload": {"n": 1}}
DRAIN_TASKS = 10_000


def wrk_requests_per_s(server: LiveServer, body: object, target: str, seconds: int, connections: int) -> float:
    env = {**os.environ, "BODY": json.dumps(body), "TARGET": target}
    run = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(WRK_SCRIPT), server.url],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    if "unexpected status" in run.stderr:
        raise RuntimeError(run.stderr)
    match = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    assert match, run.stdout
    return float(match.group(1))


def _worker(port: int, worker_id: str, done: "multiprocessing.Queue[int]") -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    completed = 0
    while True:
        conn.request("GET", f"/api/v1/poll?worker_id={worker_id}&queues=bench&max=10")
        response = conn.getresponse()
        body = response.read()
        if response.status == 204:
            break
        for task in json.loads(body)["tasks"]:
            payload = json.dumps({"token": task["lease"]["token"]})
            conn.request("POST", f"/api/v1/tasks/{task['id']}/complete", payload, {"Content-Type": "application/json"})
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200, reply.status
            completed += 1
    done.put(completed)


def _reporting_worker(port: int, worker_id: str, done: "multiprocessing.Queue[int]") -> None:
    """As `_worker`, with each batch's outcomes in one `/outcomes` that leases the next batch."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", f"/api/v1/poll?worker_id={worker_id}&queues=bench&max=10")
    response = conn.getresponse()
    body = response.read()
    tasks = [] if response.status == 204 else json.loads(body)["tasks"]
    completed = 0
    while tasks:
        outcomes = [{"id": task["id"], "token": task["lease"]["token"]} for task in tasks]
        report = {"outcomes": outcomes, "next": 10, "worker_id": worker_id, "queues": ["bench"]}
        conn.request("POST", "/api/v1/outcomes", json.dumps(report), {"Content-Type": "application/json"})
        reply = conn.getresponse()
        answer = reply.read()
        assert reply.status == 200, reply.status
        completed += len(outcomes)
        tasks = json.loads(answer)["tasks"]
    done.put(completed)


def drain_tasks_per_s(server: LiveServer, workers: int, worker: Callable[..., None] = _worker) -> float:
    """Drain everything queued in `bench` (what the submit runs left, plus DRAIN_TASKS)."""
    with server.client() as client:
        for _ in range(DRAIN_TASKS // 1000):
            assert client.post("/api/v1/tasks/bulk", json=[TASK] * 1000).status_code == 201
        (queue,) = [q for q in client.get("/api/v1/queues").json()["queues"] if q["name"] == "bench"]
        expected = sum(queue["pending"].values())
    done: multiprocessing.Queue[int] = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(server.port, f"w{n}", done)) for n in range(workers)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    total = sum(done.get() for _ in procs)
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    assert total == expected, (total, expected)
    return total / elapsed


def bench(server: LiveServer, seconds: int, repeat: int, workers: int) -> dict[str, float]:
    runs: dict[str, list[float]] = {"single": [], "bulk100": [], "bulk1000": [], "drain": [], "reporting": []}
    for _ in range(repeat):
        runs["single"].append(wrk_requests_per_s(server, TASK, "/api/v1/tasks", seconds, 32))
        runs["bulk100"].append(100 * wrk_requests_per_s(server, [TASK] * 100, "/api/v1/tasks/bulk", seconds, 8))
        runs["bulk1000"].append(1000 * wrk_requests_per_s(server, [TASK] * 1000, "/api/v1/tasks/bulk", seconds, 4))
        runs["drain"].append(drain_tasks_per_s(server, workers))
        runs["reporting"].append(drain_tasks_per_s(server, workers, _reporting_worker))
    return {name: statistics.median(values) for name, values in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,redis")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    header = f"{'backend':8} {'submit 1/req':>13} {'bulk 100':>10} {'bulk 1000':>10} {'poll+complete':>14}"
    print(f"{header} {'outcomes+next':>14}  (tasks/s)")
    for name in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            redis = RedisServer(Path(tmp)) if name == "redis" else None
            if redis:
                redis.start()
            try:
                env = {"max_queue_size": "100000000"}
                with live_server(Path(tmp), redis_url=redis.url if redis else None, **env) as server:
                    f = bench(server, args.seconds, args.repeat, args.workers)
            finally:
                if redis:
                    redis.kill()
        print(
            f"{name:8} {f['single']:>13,.0f} {f['bulk100']:>10,.0f} {f['bulk1000']:>10,.0f} {f['drain']:>14,.0f}"
            f" {f['reporting']:>14,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
