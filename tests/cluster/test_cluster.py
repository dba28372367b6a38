"""A real Redis Cluster (3 primaries, 3 replicas on loopback) and what Taskline does on it today.

Groundwork for issue 11: the fixture is proven here, and the Redis backend's gap on a cluster is
kept visible as a strict xfail, so the day it works the xfail fails and must be removed."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.cluster import RedisCluster

from taskline.backends.factory import open_backend
from taskline.config import load_settings
from taskline.core.clock import FrozenClock
from taskline.errors import InternalError
from tests.helpers.cluster import SLOTS, RedisClusterNodes, running_cluster
from tests.helpers.seed import lease_one, submit

# Two queues whose hash tags fall on different slots, and (checked below) on different shards.
QUEUES = ("alpha", "bravo")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as nodes:
        yield nodes


def test_three_primaries_three_replicas_serve_every_slot(cluster: RedisClusterNodes) -> None:
    client = RedisCluster.from_url(cluster.url())
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

        # Every primary answers for a key on its own slots: served, not just assigned.
        for queue in QUEUES:
            key = f"taskline:{{{queue}}}:probe"
            client.set(key, queue)
            assert client.get(key) == queue.encode()
    finally:
        client.close()


def test_the_two_queues_land_on_different_shards(cluster: RedisClusterNodes) -> None:
    client = RedisCluster.from_url(cluster.url())
    try:
        owners = {client.get_node_from_key(f"taskline:{{{queue}}}:tasks").name for queue in QUEUES}
        assert len(owners) == 2
    finally:
        client.close()


# Today `connect` fails at its first keyed read (GET taskline:format): the plain client gets
# `MOVED <slot> <node>` back and cannot follow it, and the backend reports InternalError. `raises`
# pins that reason, so any other failure on the way to cluster support shows as a real one.
@pytest.mark.xfail(
    strict=True,
    raises=InternalError,
    reason="issue 11: the Redis backend uses a plain client, not the cluster client",
)
async def test_backend_on_a_cluster_node_runs_tasks_across_two_queues(
    cluster: RedisClusterNodes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TASKLINE_REDIS_URL", cluster.url())
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
            assert (await backend.get(task.id)).result == {"ok": queue}
    finally:
        await backend.close()
