"""Every field of a task survives the Redis record: codec.py's encoding, and the scripts' own
(_lib.lua decode_record/encode_record), which every transition runs a record through."""

import redis
from hypothesis import HealthCheck, given, settings

from taskline.backends.redis.codec import decode_task, encode_task
from taskline.backends.redis.scripts import constants, read_body
from taskline.core.task import Task
from tests.helpers.records import same, tasks

CHECKS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@CHECKS
@given(task=tasks())
def test_every_field_survives_the_record(task: Task) -> None:
    back = decode_task(task.id, task.queue, encode_task(task))

    assert same(back, task) == {}


LUA_ROUND_TRIP = f"{constants()}{read_body('_lib')}\nreturn encode_record(decode_record(ARGV[1]))"


@CHECKS
@given(task=tasks())
def test_the_scripts_save_a_record_as_they_read_it(redis_url: str, task: Task) -> None:
    record = encode_task(task)
    client = redis.Redis.from_url(redis_url)
    try:
        saved = client.eval(LUA_ROUND_TRIP, 0, record)
    finally:
        client.close()

    assert same(decode_task(task.id, task.queue, saved), task) == {}
    assert saved == record  # byte for byte: cmsgpack and ormsgpack pack alike
