"""Taskline on a real Redis Cluster (3 primaries, 3 replicas on loopback): the fixture itself,
the backend opened from a node's URL, queues on different shards, WAIT for replicas, wake-ups
across nodes, and `taskline serve` + `taskline worker` processes pointed at a node.

The cluster is the session's (conftest `redis_cluster`, flushed before each test), shared with
the contract suite's redis-cluster param when both run on one worker. Tests that kill nodes
start clusters of their own (test_failover.py)."""

import asyncio
from pathlib import Path

import httpx
import pytest
import redis
from redis.cluster import RedisCluster

from taskline.backends.factory import open_backend
from taskline.backends.redis import streams
from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.connecting import QueuingRedisCluster, open_blocking_client
from taskline.client import Client
from taskline.config import load_settings
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.errors import BackendUnavailable
from tests.helpers.cluster import SLOTS, RedisClusterNodes
from tests.helpers.live import live_server, wait_until, worker_process
from tests.helpers.seed import lease_one, submit

# Two queues whose hash tags fall on different slots, and (checked below) on different shards.
QUEUES = ("alpha", "bravo")
APP = "tests.integration.worker.tasks_app:app"


def test_three_primaries_three_replicas_serve_every_slot(redis_cluster: RedisClusterNodes) -> None:
    client = RedisCluster.from_url(redis_cluster.url())
    try:
        # get_nodes() lists replicas only for a client that reads from them: ask the cluster itself.
        roles = [set(node["flags"].split(",")) for node in client.cluster_nodes().values()]
        assert sum("master" in flags for flags in roles) == 3
        assert sum("slave" in flags for flags in roles) == 3
        assert not any({"fail", "fail?"} & flags for flags in roles)

        served = set()
        for (start, end), nodes in client.cluster_slots().items():
            served.update(range(start, end + 1))
            assert len(nodes["replicas"]) == 1, f"slots {start}-{end}: replicas {nodes['replicas']}"
        assert served == set(range(SLOTS))
    finally:
        client.close()


def _owner(client: RedisCluster, key: str) -> str:
    """The address of the primary that holds `key` (asked of that node: EXISTS there is 1)."""
    node = client.get_node_from_key(key)
    with redis.Redis(host=node.host, port=node.port) as on_node:
        assert on_node.exists(key) == 1
    return str(node.name)


async def test_backend_on_a_cluster_node_runs_tasks_on_queues_on_different_shards(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TASKLINE_REDIS_URL", redis_cluster_url)
    settings = load_settings()
    assert settings.redis_url is not None
    clock = FrozenClock()
    backend = await open_backend(
        redis_url=settings.redis_url.get_secret_value(), sqlite_path=tmp_path / "unused.db", clock=clock
    )
    try:
        for queue in QUEUES:
            task = await submit(backend, clock, queue=queue, payload={"queue": queue})
            lease = await lease_one(backend, task)
            done = await backend.complete(task.id, lease.token, result={"ok": queue})
            assert done.state == "completed"
            assert (await backend.get(task.id)).result == {"ok": queue}  # type: ignore[union-attr]
        assert {q.name: q.completed for q in await backend.queue_stats()} == dict.fromkeys(QUEUES, 1)
        assert await backend.health() == (True, [])
    finally:
        await backend.close()
    client = RedisCluster.from_url(redis_cluster_url)
    try:
        owners = {_owner(client, f"taskline:{{{queue}}}:tasks") for queue in QUEUES}
    finally:
        client.close()
    assert len(owners) == 2, "each queue's tasks live on its own shard"


async def test_a_database_other_than_0_on_a_cluster_is_refused(redis_cluster_url: str) -> None:
    with pytest.raises(BackendUnavailable, match="database 0 only"):
        await RedisBackend.connect(redis_cluster_url.rsplit("/", 1)[0] + "/3")


async def test_writes_wait_for_their_replica_and_more_replicas_than_exist_is_a_503(redis_cluster_url: str) -> None:
    clock = FrozenClock()
    one = await RedisBackend.connect(redis_cluster_url, config=EngineConfig(redis_wait_replicas=1), clock=clock)
    two = await RedisBackend.connect(redis_cluster_url, config=EngineConfig(redis_wait_replicas=2), clock=clock)
    try:
        for queue in QUEUES:  # each shard has one replica: WAIT 1 is met on both
            task = await submit(one, clock, queue=queue)
            lease = await lease_one(one, task)
            assert (await one.complete(task.id, lease.token)).state == "completed"
        # Two replicas are asked for and each shard has one: refused, after WAIT's 1 s.
        with pytest.raises(BackendUnavailable, match="1 of the 2 replicas"):
            await submit(two, clock, queue=QUEUES[0])
    finally:
        await one.close()
        await two.close()


async def each_queue_wakes(watcher: RedisBackend, producer: RedisBackend, clock: FrozenClock, where: str = "") -> None:
    """A submit to each queue through `producer` wakes `watcher`'s signal for that queue. The queues
    are on two shards, so the scripts publish from two different nodes."""
    for queue in QUEUES:
        with watcher.watch([queue]) as signal:
            await submit(producer, clock, queue=queue)
            assert await signal.wait(10), f"no wake-up for {queue} {where}".rstrip()


async def test_a_submit_through_one_node_wakes_a_watcher_subscribed_on_another(redis_cluster_url: str) -> None:
    clock = FrozenClock()
    watcher = await RedisBackend.connect(redis_cluster_url, clock=clock)
    producer = await RedisBackend.connect(redis_cluster_url, clock=clock, wake_ups=False)
    try:
        await each_queue_wakes(watcher, producer, clock)
    finally:
        await watcher.close()
        await producer.close()


def test_the_blocking_client_on_a_cluster_node_url(redis_cluster_url: str) -> None:
    """`Client("redis://<node>")`: its own calls on redis-py's blocking cluster client, the rest
    (a bulk across queues, stats) through the async backend, both on the cluster."""
    with Client(redis_cluster_url) as client:
        singles = [client.submit("echo", {"queue": queue}, queue=queue) for queue in QUEUES]
        assert [client.get(t.id).queue for t in singles] == list(QUEUES)
        bulk = client.submit_many([{"type": "echo", "queue": queue} for queue in QUEUES])
        assert {t.queue for t in bulk} == set(QUEUES)
        assert client.stats().states["pending"] == 4
        assert client.cancel(singles[1].id).state == "cancelled"


def test_serve_and_worker_processes_on_a_cluster_node_run_tasks(redis_cluster_url: str, tmp_path: Path) -> None:
    with live_server(tmp_path, redis_url=redis_cluster_url) as server, server.client() as http:
        health = http.get("/health").json()
        assert (health["status"], health["backend"], health["unreachable_nodes"]) == ("healthy", "redis", [])
        with worker_process(tmp_path, APP, "--queues", ",".join(QUEUES), server=server.url):
            ids = [_submit(http, queue, n) for n in range(10) for queue in QUEUES]
            wait_until(lambda: all(_state(http, i) == "completed" for i in ids), what="every task completed")
        results = sorted(http.get(f"/api/v1/tasks/{i}").json()["result"] for i in ids)
        assert results == sorted(n + 1 for n in range(10) for _ in QUEUES)


def _submit(http: httpx.Client, queue: str, n: int) -> str:
    response = http.post("/api/v1/tasks", json={"type": "add", "queue": queue, "payload": {"a": n, "b": 1}})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _state(http: httpx.Client, task_id: str) -> str:
    return str(http.get(f"/api/v1/tasks/{task_id}").json()["state"])


async def test_a_cluster_reader_waits_for_events_on_every_shard(redis_cluster_url: str) -> None:
    """The event log's blocking read across shards: a read that waits is ended by an event on
    whichever shard it comes, not by its timeout."""
    clock = FrozenClock()
    backend = await RedisBackend.connect(redis_cluster_url, clock=clock)
    try:
        for queue in QUEUES:
            await submit(backend, clock, queue=queue)  # both queues known before the cursor
        for queue in QUEUES:
            cursor = await backend.event_cursor()
            reading = asyncio.ensure_future(backend.read_events(cursor, wait_s=30))
            await asyncio.sleep(0)  # the read usually starts (and blocks) first; either order must pass
            task = await submit(backend, clock, queue=queue)
            events = await asyncio.wait_for(reading, 20)
            assert [(e.name, e.task.id if e.task else None) for e in events] == [("task.created", task.id)]
    finally:
        await backend.close()


async def test_the_archive_outbox_of_queues_on_every_shard_is_read_and_dropped(redis_cluster_url: str) -> None:
    """PostgreSQL history's outbox (one stream per queue) on a cluster: read across shards, dropped exactly."""
    clock = FrozenClock()
    backend = await RedisBackend.connect(redis_cluster_url, config=EngineConfig(archive=True), clock=clock)
    try:
        ended = []
        for queue in QUEUES:
            task = await submit(backend, clock, queue=queue)
            lease = await lease_one(backend, task)
            ended.append((await backend.complete(task.id, lease.token)).id)
        entries = await backend.read_archive(limit=10)
        assert sorted(e.task.id for e in entries) == sorted(ended)
        assert (await backend.archive_backlog()).depth == 2
        assert await backend.drop_archived(entries) == 2
        assert (await backend.archive_backlog()).depth == 0
    finally:
        await backend.close()


def test_the_blocking_cluster_client_never_sends_a_command_again(redis_cluster_url: str) -> None:
    """A submit whose reply was lost must not be made twice: the blocking cluster client is
    opened without redis-py's default retries (10 on a connection error or timeout)."""
    client = open_blocking_client(redis_cluster_url, timeout_s=5)
    try:
        assert isinstance(client, RedisCluster)
        assert client.retry.get_retries() == 0
    finally:
        client.close()


async def test_health_on_a_cluster_looks_at_the_nodes_once(
    redis_cluster_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One round of PINGs answers both "does any node answer" and "which do not"."""
    from taskline.api.app import create_app
    from taskline.backends.redis import nodes
    from taskline.config import Settings

    looks = 0
    unreachable = nodes.unreachable

    async def counted(client: RedisCluster) -> tuple[bool, list[str]]:  # type: ignore[type-arg]
        nonlocal looks
        looks += 1
        return await unreachable(client)  # type: ignore[arg-type]

    monkeypatch.setattr(nodes, "unreachable", counted)
    app = create_app(Settings(redis_url=redis_cluster_url, sqlite_path=tmp_path / "unused.db"))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        looks = 0
        health = await http.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["unreachable_nodes"] == []
    assert looks == 1


async def test_a_wake_listener_subscribed_on_a_replica_hears_every_shard(
    redis_cluster_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listener subscribes on any node in turn, replicas included (docs/cluster.md): a
    replica hears the classic publishes of every shard's primary too."""
    from redis.asyncio.cluster import ClusterNode
    from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

    real_get_nodes = AsyncRedisCluster.get_nodes

    def replicas_only(self: AsyncRedisCluster) -> list[ClusterNode]:
        return [node for node in real_get_nodes(self) if node.server_type == "replica"]

    clock = FrozenClock()
    monkeypatch.setattr(AsyncRedisCluster, "get_nodes", replicas_only)
    watcher = await RedisBackend.connect(redis_cluster_url, clock=clock)
    monkeypatch.undo()
    producer = await RedisBackend.connect(redis_cluster_url, clock=clock, wake_ups=False)
    try:
        await each_queue_wakes(watcher, producer, clock, "on a replica's subscription")
    finally:
        await watcher.close()
        await producer.close()


async def test_blocking_event_reads_never_hold_the_permits_api_calls_need(redis_cluster_url: str) -> None:
    """A reader waiting on its streams holds connections of the `waiting` allowance only: every
    `in_flight` permit stays free for API calls meanwhile."""
    clock = FrozenClock()
    backend = await RedisBackend.connect(redis_cluster_url, clock=clock, max_connections=16)
    client = backend._ctx.client
    assert isinstance(client, QueuingRedisCluster)
    free = client.in_flight._value
    try:
        for queue in QUEUES:
            await submit(backend, clock, queue=queue)
        cursor = await backend.event_cursor()
        reading = asyncio.ensure_future(backend.read_events(cursor, wait_s=5))
        await asyncio.sleep(0.5)  # blocked on the four streams (two queues, the workers', the schedules')
        assert not reading.done()
        assert client.waiting._value == client.waiting_reads - 4
        assert client.in_flight._value == free
        task = await submit(backend, clock, queue=QUEUES[1])  # an API call meanwhile, and the news
        events = await asyncio.wait_for(reading, 10)
        assert [e.task.id for e in events if e.task] == [task.id]
    finally:
        await backend.close()


async def test_a_cluster_reader_of_many_streams_polls_less_while_nothing_happens(
    redis_cluster_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_BLOCKING_STREAMS a reader polls: quickly after news, backing off to a look
    every MAX_POLL_S while the log stays quiet (not ten looks a second for ever)."""
    monkeypatch.setattr(streams, "MAX_BLOCKING_STREAMS", 2)
    looks = 0
    each = streams._each

    async def counted(*args: object) -> streams.Reply:
        nonlocal looks
        looks += 1
        return await each(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(streams, "_each", counted)
    clock = FrozenClock()
    backend = await RedisBackend.connect(redis_cluster_url, clock=clock)
    try:
        for queue in QUEUES:  # four streams with the workers' and the schedules': more than 2, so it polls
            await submit(backend, clock, queue=queue)
        cursor = await backend.event_cursor()
        looks = 0
        assert await backend.read_events(cursor, wait_s=4) == []
        # Pauses 0.1, 0.2, 0.4, 0.8, 1, 1 (and a look at the start of each 1 s read): about 12;
        # polling every 100 ms would be about 60.
        assert looks <= 16, looks
        # News makes it look soon again: an event is read well within the longest pause.
        reading = asyncio.ensure_future(backend.read_events(cursor, wait_s=5))
        await asyncio.sleep(0.05)
        task = await submit(backend, clock, queue=QUEUES[0])
        started = asyncio.get_running_loop().time()
        events = await asyncio.wait_for(reading, 10)
        assert [e.task.id for e in events if e.task] == [task.id]
        assert asyncio.get_running_loop().time() - started <= streams.MAX_POLL_S + 0.5
    finally:
        await backend.close()
