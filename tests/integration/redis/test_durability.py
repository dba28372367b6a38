"""With appendonly yes and appendfsync always, a SIGKILLed Redis loses nothing acknowledged (SPEC §8)."""

from pathlib import Path

from taskline.backends.redis.backend import RedisBackend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.states import TaskState
from tests.helpers.seed import spec
from tests.helpers.servers import RedisServer


async def test_every_acknowledged_task_survives_a_kill_9(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, appendonly=True, fsync="always")
    server.start()
    clock = FrozenClock()
    try:
        backend = await RedisBackend.connect(server.url, config=EngineConfig(), clock=clock)
        submitted = [r.task for r in await backend.submit([spec(clock, "job", payload={"i": i}) for i in range(50)])]
        leases = await backend.lease(worker_id="w", max=30)
        done = [await backend.complete(x.task.id, x.token, result={"ok": x.task.payload["i"]}) for x in leases[:20]]
        failed = await backend.fail(leases[20].task.id, leases[20].token, error="boom", retry=False)
        expected = {t.id: t.state for t in submitted}
        expected |= {x.task.id: TaskState.RUNNING for x in leases}
        expected |= {t.id: t.state for t in done}
        expected[failed.id] = TaskState.FAILED
        await backend.close()

        server.kill()
        server.start()

        backend = await RedisBackend.connect(server.url, config=EngineConfig(), clock=clock)
        for task_id, state in expected.items():
            stored = await backend.get(task_id)
            assert stored is not None, task_id
            assert stored.state is state
        assert (await backend.get(done[0].id)).result == {"ok": done[0].payload["i"]}  # type: ignore[union-attr]
        counts = await backend.counts()
        assert counts[TaskState.COMPLETED] == 20
        assert counts[TaskState.RUNNING] == 9
        assert counts[TaskState.PENDING] == 20
        assert counts[TaskState.FAILED] == 1
        # The restarted server has no scripts cached: the runner loads them again on NOSCRIPT.
        assert len(await backend.lease(worker_id="w", max=100)) == 20
        await backend.close()
    finally:
        server.kill()
