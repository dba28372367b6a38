"""The creation log's entries (codec.log_entry) hold a task id in ~20 bytes: the stream id and
a small integer give the id back (_lib.lua logged_task_id), and log order is id order."""

import time
import uuid

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskline.backends.redis import calls as calls_module
from taskline.backends.redis.backend import RedisBackend
from taskline.backends.redis.codec import log_entry, parse_log_id
from taskline.backends.redis.scripts import constants, read_body
from taskline.core.clock import FrozenClock
from taskline.core.ids import new_task_id
from taskline.core.task import TaskFilter
from tests.helpers.seed import spec, submit

CHECKS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# The task id logged_task_id reads back from each entry, given as stream id, value pairs.
READ_BACK = f"""{constants()}{read_body("_lib")}
local reply = {{}}
for i = 1, #ARGV, 2 do
  reply[#reply + 1] = logged_task_id({{ARGV[i], {{'id', ARGV[i + 1]}}}})
end
return reply"""


def read_back(redis_url: str, entries: list[tuple[str, int]]) -> list[str]:
    client = redis.Redis.from_url(redis_url)
    try:
        return [task_id.decode() for task_id in client.eval(READ_BACK, 0, *(v for entry in entries for v in entry))]
    finally:
        client.close()


uuid7s = st.builds(
    lambda ms, counter, rand_b: str(uuid.UUID(int=ms << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b)),
    st.integers(0, 2**48 - 1),
    st.integers(0, 2**12 - 1),
    st.integers(0, 2**62 - 1),
)


@CHECKS
@given(ids=st.lists(uuid7s, min_size=1, max_size=20, unique=True))
def test_an_entry_gives_its_task_id_back_and_sorts_as_the_ids_do(redis_url: str, ids: list[str]) -> None:
    entries = [log_entry(task_id) for task_id in ids]

    assert read_back(redis_url, entries) == ids
    assert all(0 <= low < 2**22 for _, low in entries)
    by_entry = sorted(zip(entries, ids, strict=True), key=lambda pair: parse_log_id(pair[0][0]))
    assert [task_id for _, task_id in by_entry] == sorted(ids)


def test_ids_made_here_round_trip(redis_url: str) -> None:
    ids = [new_task_id() for _ in range(50)]

    assert read_back(redis_url, [log_entry(task_id) for task_id in ids]) == ids


async def test_a_task_logged_behind_another_process_clock_is_listed(
    redis_backend: RedisBackend, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process whose clock runs an hour ahead logs first; ids made here then fall behind the
    # log's last entry, so their entries hold the whole id.
    ahead = str(uuid.UUID(int=(int(time.time() * 1000) + 3_600_000) << 80 | 0x7 << 76 | 0b10 << 62 | 5))
    monkeypatch.setattr(calls_module, "new_task_id", lambda: ahead)
    await submit(redis_backend, clock, "ahead")
    monkeypatch.undo()
    behind = await submit(redis_backend, clock, "behind")

    page = await redis_backend.list_tasks(TaskFilter(), limit=10)
    only_behind = await redis_backend.list_tasks(TaskFilter(type="behind"), limit=10)

    ((_, last),) = await redis_backend._client.xrevrange(redis_backend._keys.queue("default").log, count=1)
    assert last == {b"id": behind.id.encode()}  # the entry could not come from the id
    assert [t.id for t in page.tasks] == [behind.id, ahead]  # log order: the later entry first
    assert [t.id for t in only_behind.tasks] == [behind.id]


async def test_a_dead_log_head_is_trimmed_a_bounded_stretch_per_call_up_to_the_first_live_task(
    redis_backend: RedisBackend, clock: FrozenClock
) -> None:
    # Retention looks at up to 1,000 log entries a call (housekeeping.trim_retention), in steps of
    # 100: a purged backlog longer than that goes over several calls, never in one long script.
    await redis_backend.submit([spec(clock) for _ in range(1250)])
    assert await redis_backend.purge("default") == 1250
    live = await submit(redis_backend, clock)
    log = redis_backend._keys.queue("default").log

    assert await redis_backend.trim_retention() == 0
    assert await redis_backend._client.xlen(log) == 1251 - 999  # the 1,000th, dead too, is kept for next time
    assert await redis_backend.trim_retention() == 0
    ((_, entry),) = await redis_backend._client.xrange(log)
    assert entry == {b"id": str(log_entry(live.id)[1]).encode()}
