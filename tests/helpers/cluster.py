"""Start a real Redis Cluster for tests: 3 primaries and 3 replicas on free loopback ports."""

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.helpers.servers import free_port

SLOTS = 16384


class RedisClusterNodes:
    """Six `redis-server --cluster-enabled yes` children joined by `redis-cli --cluster create`.

    Every node runs in its own directory under `workdir`, so `nodes-<port>.conf` files never clash.
    """

    def __init__(
        self, workdir: Path, *, nodes: int = 6, replicas: int = 1, timeout_s: float = 20, full_coverage: bool = True
    ) -> None:
        """`full_coverage=False`: the nodes keep serving their slots while another shard has none
        alive (`cluster-require-full-coverage no`), as a cluster whose queues must outlive a lost
        shard is configured."""
        for program in ("redis-server", "redis-cli"):
            if shutil.which(program) is None:
                raise RuntimeError(f"{program} is not installed: run `make services` (Debian package redis-server)")
        self.workdir = workdir
        # The bus port defaults to port + 10000, past 65535 for a high free port, and nobody checked
        # it was free: each node gets a free one of its own. The OS may hand a just-released port
        # out again, so draw until all 2 * nodes are distinct.
        free: list[int] = []
        while len(free) < 2 * nodes:
            if (port := free_port()) not in free:
                free.append(port)
        self.ports = free[:nodes]
        self.bus_ports = dict(zip(self.ports, free[nodes:], strict=True))
        self.replicas = replicas
        self.timeout_s = timeout_s
        self.full_coverage = full_coverage
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def url(self, port: int | None = None) -> str:
        """A node's URL (the first node's by default); any node redirects a cluster client to the rest."""
        return f"redis://127.0.0.1:{port or self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            self._start_node(port)
        for port in self.ports:
            self._wait_for(lambda port=port: self._ping(port), f"redis-server on port {port} did not answer")
        create = [
            "redis-cli", "--cluster", "create", *(f"127.0.0.1:{port}" for port in self.ports),
            "--cluster-replicas", str(self.replicas), "--cluster-yes",
        ]  # fmt: skip
        done = subprocess.run(create, capture_output=True, timeout=self.timeout_s, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout.decode()}{done.stderr.decode()}")
        self.wait_until_healthy()

    def wait_until_healthy(self, *, replicated: bool = True) -> None:
        """Poll every live node until it reports `cluster_state:ok` with all 16384 slots assigned,
        and (`replicated`) lists `replicas` in sync for every slot range: create returns before
        gossip has converged, and a replica counts in CLUSTER SLOTS only once it has synced.
        After a failover the promoted primary has no replica: pass `replicated=False`."""
        self._wait_for(lambda: self._healthy(replicated), "the Redis Cluster did not reach cluster_state:ok")

    def primaries(self) -> list[int]:
        """Ports of the nodes that currently serve slots, as a live node sees them."""
        with redis.Redis(port=next(iter(self.processes)), decode_responses=True) as client:
            return sorted(_serving(client.execute_command("CLUSTER", "NODES")))

    def shard_of(self, key: str) -> list[int]:
        """Ports of the shard that serves `key`: its primary first, then that primary's replicas."""
        with redis.Redis(port=next(iter(self.processes)), decode_responses=True) as client:
            slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
            nodes = [line.split() for line in client.execute_command("CLUSTER", "NODES").splitlines()]
        port_of = {fields[0]: int(fields[1].split("@")[0].rsplit(":", 1)[1]) for fields in nodes}
        for node_id, _address, flags, _master, *rest in nodes:
            if "master" in flags.split(",") and any(_covers(r, slot) for r in rest[4:]):
                replicas = sorted(port_of[f[0]] for f in nodes if f[3] == node_id)
                return [port_of[node_id], *replicas]
        raise LookupError(f"no primary serves slot {slot}")

    def kill_primary(self, port: int | None = None) -> int:
        """SIGKILL a primary (the first one by default), as a crash would; returns its port.
        Its replica takes over after `cluster-node-timeout`: wait with `wait_until_healthy`."""
        port = port or self.primaries()[0]
        self.kill(port)
        return port

    def restart(self, port: int) -> None:
        """Start a killed node again on its port and directory: its nodes.conf keeps its identity,
        so it rejoins, as a replica of whichever node took over its slots meanwhile."""
        self._start_node(port)
        self._wait_for(lambda: self._ping(port), f"redis-server on port {port} did not answer")

    def kill(self, port: int) -> None:
        process = self.processes.pop(port, None)
        if process is not None:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)

    def _start_node(self, port: int) -> None:
        directory = self.workdir / str(port)
        directory.mkdir(parents=True, exist_ok=True)
        args = [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
            "--cluster-enabled", "yes", "--cluster-config-file", str(directory / f"nodes-{port}.conf"),
            "--cluster-port", str(self.bus_ports[port]),
            # A short node timeout keeps later failover tests quick; loopback never stalls for 1 s.
            "--cluster-node-timeout", "1000",
            # A replica's first sync otherwise waits 5 s for more replicas to share the transfer.
            "--repl-diskless-sync-delay", "0",
            # CLUSTER SLOTS lists a replica only once its offset is past 0, which on an empty primary
            # takes its first ping to the replicas: every 10 s by default.
            "--repl-ping-replica-period", "1",
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
            "--cluster-require-full-coverage", "yes" if self.full_coverage else "no",
        ]  # fmt: skip
        self.processes[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _ping(self, port: int) -> bool:
        if self.processes[port].poll() is not None:
            raise RuntimeError(f"redis-server on port {port} exited with {self.processes[port].returncode}")
        try:
            with redis.Redis(port=port, socket_timeout=1) as client:
                return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False

    def _healthy(self, replicated: bool) -> bool:
        for port in self.processes:
            with redis.Redis(port=port, decode_responses=True, socket_timeout=1) as client:
                info = client.execute_command("CLUSTER", "INFO")
                ranges = client.execute_command("CLUSTER", "SLOTS") if replicated else []
                serving = _serving(client.execute_command("CLUSTER", "NODES"))
            fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
            if (
                fields.get("cluster_state") != "ok"
                or int(fields.get("cluster_slots_ok", 0)) != SLOTS
                or int(fields.get("cluster_known_nodes", 0)) != len(self.ports)
                # Until a node has marked a killed primary failed, it still counts its slots as ok.
                or not serving <= self.processes.keys()
            ):
                return False
            # Each CLUSTER SLOTS entry: start, end, primary, then one entry per available replica.
            if any(len(entry) - 3 != self.replicas for entry in ranges):
                return False
        return True

    def _wait_for(self, ready: Callable[[], bool], message: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not ready():  # the servers' own answers, not a fixed sleep
            if time.monotonic() > deadline:
                raise RuntimeError(message)
            time.sleep(0.05)


def _covers(slots: str, slot: int) -> bool:
    """Whether a CLUSTER NODES slot field (`5461`, `0-5460`, or `[...]` migrating) holds `slot`."""
    if slots.startswith("["):
        return False
    first, _, last = slots.partition("-")
    return int(first) <= slot <= int(last or first)


def _serving(nodes: str) -> set[int]:
    """Ports of the primaries with slots and no failure flag, from a CLUSTER NODES reply."""
    ports = set()
    for line in nodes.splitlines():
        _node_id, address, flags, *rest = line.split()
        flag_set = set(flags.split(","))
        if "master" in flag_set and not {"fail", "fail?"} & flag_set and len(rest) > 5:
            ports.add(int(address.split("@")[0].rsplit(":", 1)[1]))
    return ports


@contextmanager
def running_cluster(workdir: Path, **options: object) -> Iterator[RedisClusterNodes]:
    cluster = RedisClusterNodes(workdir, **options)  # type: ignore[arg-type]
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
