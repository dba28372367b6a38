"""Scaling out: real `taskline serve` and `taskline worker` processes on one Redis (or a Cluster).

For each mix of API processes (`--servers`) and worker processes (`--workers`), a fresh set of
processes on a flushed store: workers over HTTP with the README's plain `def` handler
(`--concurrency 10`), each on one API in turn; `--producers` processes with the blocking
`taskline.Client`, each on one API in turn, submit `--tasks` between them, one task a call
(`single`) or 100 a call with `submit_many` (`bulk`). A round runs every mix once, alternating,
so the mixes are compared at nearly the same moment; figures are medians over `--repeat` rounds.

Per run: tasks/s end to end (from the producers' start to the last completion), the producers'
submit rate, Redis CPU per 1,000 tasks (`INFO cpu` of every primary: the whole server, parsing
and networking too), the commands Redis ran per task and the EVALSHA time per task (`INFO
commandstats`; a script's own commands count as commands, and their time is inside EVALSHA's),
and the CPU per 1,000 tasks of the API and worker processes (from /proc).

`--commands` instead counts, with MONITOR, what the processes of each mix send per task (each
command a client sends is a round trip, or part of a pipeline; an EVALSHA is named by its
script) and how many commands the scripts run.

`--redis-url` runs against that Redis, or any node of a Redis Cluster (its primaries are found
and summed) — everything in it is deleted; `--cluster` starts a 3-primary, 3-replica cluster
(tests/helpers/cluster.py) for the run. `--archive` starts PostgreSQL, sets
TASKLINE_POSTGRES_URL on the APIs, reports how long after the last completion every task is in
its `tasks` table, and then the archiver's own rate: a backlog that ended while PostgreSQL was
stopped, drained once it is back, with 1 and 2 APIs archiving.

    python -m bench.scale [--servers 1,2] [--workers 1,2,4] [--tasks 4000] [--repeat 3]
                          [--producers 2] [--variants single,bulk] [--redis-url URL | --cluster]
                          [--archive] [--commands]
"""

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import redis
from redis.crc import key_slot
from tests.helpers.cluster import running_cluster
from tests.helpers.live import LiveServer, WorkerProcess, live_server, worker_process
from tests.helpers.postgres import PostgresServer, running_postgres
from tests.helpers.servers import running_redis

import taskline
from taskline.backends.redis.scripts import load_scripts
from taskline.core.states import TaskState

app = taskline.App()

BULK = 100
CONCURRENCY = "10"
WARM_UP = 50  # tasks a worker process, run before the first measured round of a mix
IDLE_S = 2.0
TICKS = os.sysconf("SC_CLK_TCK")


@app.task("noop")
def noop(payload: dict[str, int]) -> None:
    """The README's shape: a plain function, called with the payload."""


PRODUCER = """
import sys, time, taskline
url, count, bulk, queues = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(",")
with taskline.Client(url) as client:
    client.stats()  # connected outside the timing
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    if bulk:
        for first in range(0, count, bulk):
            numbers = range(first, min(first + bulk, count))
            queue = queues[first // bulk % len(queues)]
            client.submit_many([{"type": "noop", "queue": queue, "payload": {"n": n}} for n in numbers])
    else:
        for n in range(count):
            client.submit("noop", {"n": n}, queue=queues[n % len(queues)])
    print(time.perf_counter() - started, flush=True)
"""


# --- the store: one Redis, or every primary of a cluster ----------------------------------------


@dataclass
class Store:
    url: str
    primaries: list[tuple[str, int]]
    replicas: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def at(cls, url: str) -> "Store":
        with redis.Redis.from_url(url, decode_responses=True) as client:
            if not client.info("cluster").get("cluster_enabled"):
                return cls(
                    url,
                    [
                        (
                            client.connection_pool.connection_kwargs["host"],
                            client.connection_pool.connection_kwargs["port"],
                        )
                    ],
                )
            nodes = client.execute_command("CLUSTER", "NODES")
        primaries: list[tuple[str, int]] = []
        replicas: list[tuple[str, int]] = []
        for line in nodes.splitlines():
            _id, address, flags, *_ = line.split()
            if "fail" in flags:
                continue
            host, port = address.split("@")[0].rsplit(":", 1)
            (primaries if "master" in flags else replicas).append((host, int(port)))
        return cls(url, sorted(primaries), sorted(replicas))

    def queue_names(self, count: int) -> list[str]:
        """`count` queue names; on a cluster each next one on the primary holding fewest so far,
        so the queues spread over the shards as evenly as they can (a queue's slot is its tag's)."""
        if not self.cluster:
            return [f"bench-{n}" for n in range(count)]
        with redis.Redis(*self.primaries[0]) as client:
            ranges = [(int(start), int(end), int(owner[1])) for start, end, owner, *_ in client.cluster("SLOTS")]
        load: Counter[int] = Counter({port: 0 for _, port in self.primaries})
        names: list[str] = []
        candidates = (f"bench-{n}" for n in itertools.count())
        while len(names) < count:
            name = next(candidates)
            slot = key_slot(name.encode())
            port = next(owner for start, end, owner in ranges if start <= slot <= end)
            if load[port] == min(load.values()):
                load[port] += 1
                names.append(name)
        return names

    @property
    def cluster(self) -> bool:
        return bool(self.replicas) or len(self.primaries) > 1

    def _each(self, nodes: list[tuple[str, int]]) -> Iterator[redis.Redis]:
        for host, port in nodes:
            with redis.Redis(host=host, port=port, decode_responses=True) as client:
                yield client

    def flush(self) -> None:
        for client in self._each(self.primaries):
            client.flushall()

    def reset_stats(self) -> None:
        for client in self._each(self.primaries + self.replicas):
            client.config_resetstat()

    def cpu_s(self, nodes: list[tuple[str, int]]) -> float:
        """Seconds of CPU the nodes' redis-server processes have used (user + system)."""
        return sum(
            float(c.info("cpu")["used_cpu_user"]) + float(c.info("cpu")["used_cpu_sys"]) for c in self._each(nodes)
        )

    def commandstats(self) -> dict[str, tuple[int, int]]:
        """Calls and µs per command since reset_stats, summed over the primaries."""
        totals: Counter[str] = Counter()
        usec: Counter[str] = Counter()
        for client in self._each(self.primaries):
            for name, stats in client.info("commandstats").items():
                command = name.removeprefix("cmdstat_")
                totals[command] += int(stats["calls"])
                usec[command] += int(stats["usec"])
        return {name: (totals[name], usec[name]) for name in totals}


@contextmanager
def store_for(args: argparse.Namespace, workdir: Path) -> Iterator[Store]:
    if args.redis_url:
        yield Store.at(args.redis_url)
    elif args.cluster:
        with running_cluster(workdir / "cluster") as cluster:
            yield Store.at(cluster.url())
    else:
        (workdir / "redis").mkdir()
        with running_redis(workdir / "redis") as server:
            yield Store.at(server.url)


# --- the processes -------------------------------------------------------------------------------


def process_cpu_s(pid: int) -> float:
    """utime + stime of a live process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Deployment:
    store: Store
    servers: list[LiveServer]
    workers: list[WorkerProcess]
    # Counts read straight from the store: asking an API would spend that API's CPU on it.
    reader: taskline.Client
    queues: list[str]
    idle: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """CPU seconds a second of Redis's primaries, the APIs and the workers with nothing to do:
    schedulers, long polls, keep-alives. Subtracted over a run, what remains is the tasks' own."""

    def measure_idle(self, seconds: float = IDLE_S) -> None:
        before = (self.store.cpu_s(self.store.primaries), *self.cpu_s())
        time.sleep(seconds)  # a measuring window with nothing submitted, not a wait for anything
        after = (self.store.cpu_s(self.store.primaries), *self.cpu_s())
        redis_idle, api_idle, worker_idle = ((a - b) / seconds for a, b in zip(after, before, strict=True))
        self.idle = (redis_idle, api_idle, worker_idle)

    def cpu_s(self) -> tuple[float, float]:
        """CPU seconds of the API processes and of the worker processes."""
        return (
            sum(process_cpu_s(s.process.pid) for s in self.servers),
            sum(process_cpu_s(w.process.pid) for w in self.workers),
        )

    def completed(self) -> int:
        return self.reader.stats().states[TaskState.COMPLETED]


@contextmanager
def deployed(
    store: Store, workdir: Path, servers: int, workers: int, queues: list[str], settings: dict[str, str]
) -> Iterator[Deployment]:
    store.flush()
    with ExitStack() as stack:
        apis = []
        for n in range(servers):
            home = workdir / f"serve-{n}-{time.monotonic_ns()}"
            home.mkdir()
            apis.append(stack.enter_context(live_server(home, redis_url=store.url, **settings)))
        procs = [
            stack.enter_context(
                worker_process(
                    workdir,
                    "bench.scale:app",
                    "--concurrency",
                    CONCURRENCY,
                    server=apis[n % servers].url,
                    log_level="warning",
                )
            )
            for n in range(workers)
        ]
        reader = stack.enter_context(taskline.Client(store.url))
        deployment = Deployment(store, apis, procs, reader, queues)
        # Every worker connected and the queues known to every API's catalog before anything is timed.
        each = WARM_UP * workers // servers // len(queues) + 1
        for api in apis:
            with taskline.Client(api.url) as client:
                client.submit_many([{"type": "noop", "queue": q, "payload": {}} for q in queues for _ in range(each)])
        wait_for(lambda: deployment.completed() >= each * len(queues) * servers, "the warm-up")
        deployment.measure_idle()
        yield deployment


def wait_for(condition: Callable[[], bool], what: str, *, timeout_s: float = 300, every_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every_s)  # paces the asking: the count, not the sleep, is what is waited for


# --- one measured run ------------------------------------------------------------------------------


@dataclass
class Run:
    tasks_per_s: float
    submit_per_s: float
    redis_ms: float  # Redis CPU per 1,000 tasks, every primary
    redis_net_ms: float  # the same less what Redis spends idle over as long
    redis_idle: float  # Redis CPU with nothing to do, share of one core
    replica_ms: float
    commands: float  # commands Redis ran per task (in scripts too)
    evalsha_us: float  # EVALSHA time per task (a script's commands included)
    api_ms: float  # less what they spend idle over as long, as redis_net_ms
    worker_ms: float
    archived_per_s: float | None = None
    archive_lag_s: float | None = None


def start_producers(deployment: Deployment, count: int, producers: int, bulk: int) -> list[subprocess.Popen[str]]:
    share = [count // producers + (1 if n < count % producers else 0) for n in range(producers)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    procs = []
    for n, tasks in enumerate(share):
        url = deployment.servers[n % len(deployment.servers)].url
        command = [sys.executable, "-c", PRODUCER, url, str(tasks), str(bulk), ",".join(deployment.queues)]
        procs.append(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=clean))
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", "a producer did not start"
    return procs


def count_rows(url: str, table: str) -> int:
    """Rows in `table`, 0 while it does not exist yet or the server is down."""
    done = subprocess.run(["psql", url, "-Atc", f"SELECT count(*) FROM {table}"], capture_output=True, text=True)
    return int(done.stdout.strip()) if done.returncode == 0 else 0


def measure(deployment: Deployment, count: int, producers: int, bulk: int, postgres: str | None) -> Run:
    store = deployment.store
    procs = start_producers(deployment, count, producers, bulk)
    before = deployment.completed()
    archived_before = count_rows(postgres, "tasks") if postgres else 0
    store.reset_stats()
    redis_cpu, replica_cpu = store.cpu_s(store.primaries), store.cpu_s(store.replicas)
    api_cpu, worker_cpu = deployment.cpu_s()
    started = time.perf_counter()
    for proc in procs:
        stdin: IO[str] = proc.stdin  # type: ignore[assignment]
        stdin.write("go\n")
        stdin.flush()
    submit_s = max(float(proc.stdout.readline()) for proc in procs if proc.stdout)
    for proc in procs:
        proc.wait()
    wait_for(lambda: deployment.completed() >= before + count, "the tasks to complete")
    elapsed = time.perf_counter() - started
    stats = store.commandstats()
    redis_cpu, replica_cpu = store.cpu_s(store.primaries) - redis_cpu, store.cpu_s(store.replicas) - replica_cpu
    api_cpu, worker_cpu = (after - b for after, b in zip(deployment.cpu_s(), (api_cpu, worker_cpu), strict=True))
    redis_idle, api_idle, worker_idle = deployment.idle
    run = Run(
        tasks_per_s=count / elapsed,
        submit_per_s=count / submit_s,
        redis_ms=redis_cpu * 1e6 / count,
        redis_net_ms=(redis_cpu - redis_idle * elapsed) * 1e6 / count,
        redis_idle=redis_idle,
        replica_ms=replica_cpu * 1e6 / count,
        commands=sum(calls for calls, _ in stats.values()) / count,
        evalsha_us=stats.get("evalsha", (0, 0))[1] / count,
        api_ms=(api_cpu - api_idle * elapsed) * 1e6 / count,
        worker_ms=(worker_cpu - worker_idle * elapsed) * 1e6 / count,
    )
    if postgres:
        run.archive_lag_s = wait_for_archive(postgres, archived_before + count)
        run.archived_per_s = count / (time.perf_counter() - started)
    return run


STALLED_S = 30


def wait_for_archive(postgres: str, rows: int) -> float:
    """Seconds from now until PostgreSQL's `tasks` table holds `rows`; RuntimeError when it
    stops growing for STALLED_S (history not on in this build, or the archiver stuck)."""
    started = last_change = time.perf_counter()
    seen = count_rows(postgres, "tasks")
    while seen < rows:
        time.sleep(0.1)  # paces the asking (each look is a psql process); the count is what is waited for
        now, count = time.perf_counter(), count_rows(postgres, "tasks")
        if count != seen:
            seen, last_change = count, now
        elif now - last_change > STALLED_S:
            raise RuntimeError(
                f"the archive stalled: {seen} of {rows} rows in PostgreSQL's tasks table after {STALLED_S} s"
            )
    return time.perf_counter() - started


def archive_backlog(
    args: argparse.Namespace,
    store: Store,
    workdir: Path,
    queues: list[str],
    settings: dict[str, str],
    pg: PostgresServer,
) -> None:
    """The archiver's own rate, not the workload's: `--archive-backlog` tasks end while
    PostgreSQL is stopped, then it starts and the outbox drains; timed from the first row
    (the archiver's retry pause after the outage is not its rate)."""
    count = args.archive_backlog
    print(f"\narchive backlog: {count:,} tasks ended while PostgreSQL was down, then drained", flush=True)
    for servers in sorted({int(s) for s in args.servers.split(",")}):
        earlier = count_rows(pg.url, "tasks")
        with deployed(store, workdir, servers, 1, queues, settings) as deployment:
            before = earlier + deployment.completed()  # the store was flushed: these are the warm-up's
            wait_for_archive(pg.url, before)
            pg.stop()
            try:
                measure(deployment, count, args.producers, BULK, None)
            finally:
                pg.start()
            wait_for(lambda: count_rows(pg.url, "tasks") > before, "the first archived row", every_s=0.05)  # noqa: B023 (called at once)
            first, started = count_rows(pg.url, "tasks"), time.perf_counter()
            wait_for_archive(pg.url, before + count)
            elapsed = time.perf_counter() - started
        if first >= before + count:  # drained between two looks: too small a backlog to time
            print(f"{servers} APIs archiving: all {count:,} within one look (raise --archive-backlog)", flush=True)
        else:
            print(f"{servers} APIs archiving: {(before + count - first) / elapsed:,.0f} rows/s", flush=True)


# --- MONITOR: what is sent per task ------------------------------------------------------------


class Monitor:
    """Counts the commands one Redis sees, by name, sent by a client or run inside a script; an
    EVALSHA counts under its script's name (`evalsha:settle`)."""

    def __init__(self, host: str, port: int) -> None:
        self.client = redis.Redis(host=host, port=port)
        self.script_names = {script.sha: name for name, script in load_scripts().items()}
        self.sent: Counter[str] = Counter()
        self.scripted: Counter[str] = Counter()
        self.running = True
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._count, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _count(self) -> None:
        with self.client.monitor() as monitor:
            self.ready.set()
            while self.running:
                command = monitor.next_command()
                words = command["command"].split(" ", 2)
                name = words[0].lower()
                if name == "evalsha" and len(words) > 1:
                    name += ":" + self.script_names.get(words[1], "?")
                (self.scripted if command["client_type"] == "lua" else self.sent)[name] += 1

    def stop(self) -> None:
        self.running = False
        self.client.ping()  # a last command, so the reading thread sees the flag
        self.thread.join(10)
        self.sent.pop("ping", None)


def count_commands(args: argparse.Namespace, store: Store, workdir: Path, settings: dict[str, str]) -> None:
    print(f"commands per task, counted with MONITOR on one Redis, {args.tasks:,} tasks a run")
    queues = store.queue_names(args.queues)
    for servers, workers in mixes_of(args):
        for variant in args.variants.split(","):
            with deployed(store, workdir, servers, workers, queues, settings) as deployment:
                monitor = Monitor(*store.primaries[0])
                try:
                    measure(deployment, args.tasks, args.producers, BULK if variant == "bulk" else 0, None)
                finally:
                    monitor.stop()
            sent, scripted = monitor.sent, monitor.scripted
            per_task = ", ".join(f"{name} {n / args.tasks:.2f}" for name, n in sent.most_common(7))
            mix = f"{servers} APIs {workers} workers {variant}"
            print(f"{mix}: sent {sum(sent.values()) / args.tasks:.2f} a task ({per_task});"
                  f" in scripts {sum(scripted.values()) / args.tasks:.1f} a task", flush=True)  # fmt: skip


def mixes_of(args: argparse.Namespace) -> list[tuple[int, int]]:
    return [(int(s), int(w)) for s in args.servers.split(",") for w in args.workers.split(",")]


# --- the table -------------------------------------------------------------------------------------


def median_of(runs: list[Run], name: str) -> float:
    values = [getattr(run, name) for run in runs if getattr(run, name) is not None]
    return statistics.median(values) if values else float("nan")


def report(variant: str, results: dict[tuple[int, int], list[Run]], *, archive: bool, cluster: bool) -> None:
    columns = [
        ("APIs", 4, None), ("workers", 7, None), ("tasks/s", 8, "tasks_per_s:,.0f"),
        ("submit/s", 9, "submit_per_s:,.0f"), ("Redis ms", 9, "redis_ms:,.0f"), ("net", 5, "redis_net_ms:,.0f"),
        ("idle %", 6, "redis_idle_pct:.1f"), ("cmds", 5, "commands:.1f"), ("EVALSHA µs", 10, "evalsha_us:,.0f"),
        ("API ms", 7, "api_ms:,.0f"), ("worker ms", 9, "worker_ms:,.0f"),
    ]  # fmt: skip
    if cluster:
        columns.append(("replicas ms", 11, "replica_ms:,.0f"))
    if archive:
        columns += [("archived/s", 10, "archived_per_s:,.0f"), ("lag s", 6, "archive_lag_s:.1f")]
    print(f"\n{variant}: medians; ms = CPU ms per 1,000 tasks (net and API/worker: less their idle CPU),"
          " idle % = Redis CPU with nothing to do (% of a core), cmds and µs per task")  # fmt: skip
    print(" ".join(f"{title:>{width}}" for title, width, _ in columns))
    for (servers, workers), runs in results.items():
        m = {name: median_of(runs, name) for name in Run.__dataclass_fields__}
        m["redis_idle_pct"] = 100 * m["redis_idle"]
        cells = [f"{servers:>4}", f"{workers:>7}"]
        for _, width, spec in columns[2:]:
            assert spec is not None
            name, form = spec.split(":")
            cells.append(f"{m[name]:>{width}{form}}")
        rounds = " ".join(f"{run.tasks_per_s:,.0f}" for run in runs)
        print(" ".join(cells) + f"   (rounds: {rounds})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default="1,2")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--tasks", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--variants", default="single,bulk")
    parser.add_argument("--queues", type=int, default=1, help="queues the tasks go to in turn (spread over shards)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--redis-url", help="a scratch Redis or Cluster node: everything in it is deleted")
    where.add_argument("--cluster", action="store_true", help="start a 3-primary, 3-replica cluster for the run")
    parser.add_argument("--archive", action="store_true", help="PostgreSQL history on; report the archive rate")
    parser.add_argument("--archive-backlog", type=int, default=20_000, help="tasks in the --archive backlog run")
    parser.add_argument("--commands", action="store_true", help="count the commands sent per task (MONITOR)")
    args = parser.parse_args()
    settings = {"log_level": "warning", "max_queue_size": "100000000"}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        store = stack.enter_context(store_for(args, workdir))
        pg = stack.enter_context(running_postgres(fast=False)) if args.archive else None
        postgres = pg.url if pg else None
        if postgres:
            settings["postgres_url"] = postgres
        kind = f"cluster of {len(store.primaries)} primaries" if store.cluster else "one Redis"
        queues = store.queue_names(args.queues)
        print(
            f"{kind}; queues {','.join(queues)}; {args.producers} producers, {args.tasks:,} tasks a run,"
            f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start",
            flush=True,
        )
        try:
            if args.commands:
                count_commands(args, store, workdir, settings)
            else:
                run_rounds(args, store, workdir, queues, settings, postgres)
                if pg:
                    archive_backlog(args, store, workdir, queues, settings, pg)
        except RuntimeError as failed:  # a process that would not start: say why, briefly
            lines = [line for line in str(failed).splitlines() if line.strip()]
            cause = next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else "")
            sys.exit(f"stopped: {lines[0] if lines else failed}" + (f"\n  {cause}" if cause != lines[0] else ""))


def run_rounds(
    args: argparse.Namespace,
    store: Store,
    workdir: Path,
    queues: list[str],
    settings: dict[str, str],
    postgres: str | None,
) -> None:
    mixes = mixes_of(args)
    results: dict[str, dict[tuple[int, int], list[Run]]] = {
        v: {mix: [] for mix in mixes} for v in args.variants.split(",")
    }
    for round_ in range(args.repeat):
        for servers, workers in mixes:
            with deployed(store, workdir, servers, workers, queues, settings) as deployment:
                for variant, runs in results.items():
                    bulk = BULK if variant == "bulk" else 0
                    run = measure(deployment, args.tasks, args.producers, bulk, postgres)
                    runs[servers, workers].append(run)
                    print(f"round {round_ + 1} {variant} {servers} APIs {workers} workers:"
                          f" {run.tasks_per_s:,.0f} tasks/s", flush=True)  # fmt: skip
    for variant, by_mix in results.items():
        report(variant, by_mix, archive=args.archive, cluster=store.cluster)
    print(f"load average {os.getloadavg()[0]:.2f} at the end (1 min)")


if __name__ == "__main__":
    main()
