"""Put a backend into a named state through its public operations only, so contract
tests read as "given a failed task" rather than as storage details."""

from typing import Any

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.spec import TaskSpec, parse_spec
from taskline.core.states import TaskState
from taskline.core.task import Lease, Task


def spec(clock: FrozenClock, type: str = "echo", **fields: Any) -> TaskSpec:
    return parse_spec({"type": type, **fields}, now=clock.now(), max_payload_bytes=1 << 20)


async def submit(backend: Backend, clock: FrozenClock, type: str = "echo", **fields: Any) -> Task:
    (submitted,) = await backend.submit([spec(clock, type, **fields)])
    return submitted.task


async def lease_one(backend: Backend, task: Task, worker_id: str = "w1") -> Lease:
    """Lease exactly `task` (it must be the only pending one of its queue and type)."""
    leases = await backend.lease(worker_id=worker_id, queues=[task.queue], types=[task.type])
    assert [lease.task.id for lease in leases] == [task.id]
    return leases[0]


async def in_state(backend: Backend, clock: FrozenClock, state: TaskState, **fields: Any) -> Task:
    """A fresh task in `state`, reached through the operations of SPEC §2."""
    fields.setdefault("type", f"seed-{state}")
    if state is TaskState.SCHEDULED:
        return await submit(backend, clock, delay=60, **fields)
    task = await submit(backend, clock, **fields)
    if state is TaskState.PENDING:
        return task
    if state is TaskState.CANCELLED:
        return await backend.cancel(task.id)
    lease = await lease_one(backend, task)
    if state is TaskState.RUNNING:
        return lease.task
    if state is TaskState.COMPLETED:
        return await backend.complete(task.id, lease.token, result={"ok": True})
    if state is TaskState.RETRYING:
        return await backend.fail(task.id, lease.token, error="boom", retry_after_s=60)
    if state is TaskState.FAILED:
        return await backend.fail(task.id, lease.token, error="boom", retry=False)
    raise AssertionError(state)
