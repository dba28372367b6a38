"""The Lua scripts keep the cluster rules: every key declared in the header and passed in KEYS,
none built inside Lua, all keys of one call in one hash slot."""

import re
from typing import Any

import pytest
from redis.crc import key_slot

from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.scripts import LuaScript, header_of, load_scripts, read_body, script_names
from taskline.core.clock import FrozenClock
from taskline.core.outcomes import Completion, LeaseAsk
from taskline.core.samples import Totals
from taskline.core.schedules import parse_definition
from taskline.core.states import TaskState
from taskline.core.task import TaskFilter
from taskline.core.webhooks import DeliveryOutcome
from taskline.core.workers import WorkerDetails
from taskline.maintenance.schedules import ScheduleFirer
from tests.helpers.seed import in_state, lease_one, spec, submit

SCRIPTS = load_scripts()
REDIS_CALL = re.compile(r"redis\.p?call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?")
KEYLESS = {"PUBLISH"}  # channels are not keys
QUEUE_KEYS = ("counts", "running", "completed", "retrying", "failed", "cancelled", "paused")


@pytest.mark.parametrize("name", script_names())
def test_every_script_has_a_header_saying_what_it_does(name: str) -> None:
    header = header_of(read_body(name))

    assert header[0].startswith(f"-- {name}.lua: ")
    assert any("KEYS[" in line for line in header)
    assert any("ARGV[" in line for line in header)
    assert any("Returns" in line for line in header)


@pytest.mark.parametrize("name", [*script_names(), "_lib"])
def test_no_script_builds_a_key_name(name: str) -> None:
    body = "\n".join(line.split("--")[0] for line in read_body(name).splitlines())

    for command, key in REDIS_CALL.findall(body):
        if command in KEYLESS:
            continue
        key = key.strip()
        assert re.fullmatch(r"KEYS\[\w+\]|\w+_key|(ev|q)\.\w+", key), f"{name}.lua: {command} on {key!r}"
        assert ".." not in key
    # A *_key name is only ever bound to an element of KEYS (or is a helper's parameter).
    for target, value in re.findall(r"local ([\w, ]*_key[\w, ]*) = ([^\n]+)", body):
        assert all(re.fullmatch(r"KEYS\[\d+\]", v.strip()) for v in value.split(",")), f"{name}.lua: {target}"
    # An `ev` table of announcing keys (_lib.lua's record/announce), and a `q` table of a queue's
    # keys (its transitions), hold only keys from KEYS.
    for table in re.findall(r"\{((?:\s*\w+ = (?:KEYS\[\d+\]|\w+)\s*,?)+)\}", body):
        for field, value in re.findall(r"(\w+) = ([^,]+)", table):
            if field in ("tasks", "events", "metrics", "outbox", "deliveries", *QUEUE_KEYS):
                assert re.fullmatch(r"KEYS\[\d+\]|\w+_key", value.strip()), f"{name}.lua: ev.{field} = {value}"


def test_a_call_with_the_wrong_number_of_keys_is_refused() -> None:
    script: LuaScript = SCRIPTS["release"]

    with pytest.raises(AssertionError, match="declares 10 KEYS"):
        script.check_keys(9)
    with pytest.raises(AssertionError, match="declares 10 KEYS"):
        script.check_keys(11)
    SCRIPTS["lease"].check_keys(9)  # variadic tail


async def test_every_call_passes_exactly_the_declared_keys_all_in_one_slot(
    redis_backend: RedisBackend, clock: FrozenClock
) -> None:
    calls: list[tuple[str, list[str]]] = []
    runner = redis_backend._scripts
    run = runner.run

    async def recording_run(name: str, keys: list[str], args: list[Any], **options: Any) -> Any:
        calls.append((name, keys))
        return await run(name, keys, args, **options)

    runner.run = recording_run  # type: ignore[method-assign]
    await exercise_every_script(redis_backend, clock)

    assert {name for name, _ in calls} == set(script_names())
    for name, keys in calls:
        script = SCRIPTS[name]
        assert len(keys) == script.fixed_keys or (script.variadic and len(keys) > script.fixed_keys), name
        assert len({key_slot(k.encode()) for k in keys}) == 1, (name, keys)


async def exercise_every_script(backend: RedisBackend, clock: FrozenClock) -> None:
    for state in TaskState:
        await in_state(backend, clock, state, queue="q1")
    await backend.submit([spec(clock, queue="q2"), spec(clock, queue="q3", delay=5)])
    running = await submit(backend, clock, "hand-back", queue="q1")
    lease = await lease_one(backend, running)
    await backend.heartbeat(running.id, lease.token, progress=10)
    await backend.release(running.id, lease.token)
    await backend.lease(worker_id="w", max=2)
    ending = await submit(backend, clock, "settled", queue="q1")
    ending_lease = await lease_one(backend, ending)
    await backend.settle([Completion(ending.id, ending_lease.token)], then_lease=LeaseAsk("w", 1, queues=["q1"]))
    clock.advance(3600)
    await backend.forward_due()
    await backend.recover_expired()
    await backend.list_tasks(TaskFilter(), limit=5)
    await backend.find_ids(running.id[:8], limit=2)
    await backend.dlq_retry()
    failed = await in_state(backend, clock, TaskState.FAILED, queue="q1", type="again")
    await backend.retry(failed.id)
    await in_state(backend, clock, TaskState.FAILED, queue="q1", type="once-more")
    await backend.dlq_delete()
    await backend.purge("q2")
    await backend.take_token("client", rate=10, burst=20)
    await backend.record_sample(30_000_000, Totals())
    await backend.cancel((await submit(backend, clock, "hooked", queue="q1", webhook="https://example.com/h")).id)
    (delivery,) = await backend.claim_deliveries(limit=10, claim_s=30)
    await backend.settle_delivery(delivery, DeliveryOutcome("delivered", 1, last_status=200))
    await backend.register_worker("worker-1", WorkerDetails(host="h", queues=["q1"]))
    await backend.register_worker("worker-2", WorkerDetails())
    await backend.set_worker_paused("worker-1", True)
    await backend.forget_worker("worker-2")
    clock.advance(90 * 86400)
    await backend.trim_retention()
    assert await backend.depart_workers(seen_before=clock.now()) == 1
    assert await backend.prune_workers(seen_before=clock.now()) == 1
    definition = parse_definition(
        {"name": "s", "every": 60, "task": {"type": "t"}}, now=clock.now(), max_payload_bytes=1024
    )
    await backend.put_schedule(definition)
    await backend.set_schedule_paused("s", True)
    await backend.set_schedule_paused("s", False)
    clock.advance(60)
    assert await ScheduleFirer(backend, clock).run_once() == 1  # advance_schedule
    await backend.delete_schedule("s")
    # A bulk spanning queues that its process left open (it crashed after opening it): the
    # scheduler gives it up once the deadline has passed (batches.py).
    await backend._client.zadd(backend._keys.batches_open, {"abandoned q4": 0})
    await backend.resolve_abandoned()
    assert await backend._client.zcard(backend._keys.batches_open) == 0


async def test_scripts_flushed_from_redis_are_loaded_again(redis_backend: RedisBackend, clock: FrozenClock) -> None:
    task = await submit(redis_backend, clock)
    await redis_backend._client.script_flush()

    (lease,) = await redis_backend.lease(worker_id="w")

    assert lease.task.id == task.id
