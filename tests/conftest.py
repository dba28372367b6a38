"""Fixtures shared by every test: a real redis-server for the session, a real Redis Cluster
(3 primaries, 3 replicas) started by the first test that asks for it, and `backend`, one
fixture over SQLite, Redis and the Redis Cluster so the contract suite runs unchanged on each."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from tests.helpers.backends import open_test_backend
from tests.helpers.cluster import RedisClusterNodes, running_cluster
from tests.helpers.servers import RedisServer, running_redis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """One cluster per xdist worker (a session each), shared by all its cluster tests."""
    with running_cluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def _cluster_flusher(redis_cluster: RedisClusterNodes) -> Iterator[redis.RedisCluster]:
    """One client for the flushing (a cluster client's start reads the slot map and COMMAND)."""
    client = redis.RedisCluster.from_url(redis_cluster.url())
    yield client
    client.close()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterNodes, _cluster_flusher: redis.RedisCluster) -> str:
    """The cluster's first node, every primary flushed: a test starts on an empty cluster."""
    _cluster_flusher.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
    return redis_cluster.url()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def engine_config() -> EngineConfig:
    return EngineConfig()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock, engine_config: EngineConfig
) -> AsyncIterator[Backend]:
    async for store in open_test_backend(request, tmp_path, clock, engine_config):
        yield store
