"""`fanout.answered`: the one test of a partial pipeline's reply the fan-out reads share."""

from taskline.backends.redis.fanout import answered
from taskline.errors import BackendUnavailable


def test_a_reply_is_an_answer_when_it_found_something_on_a_live_shard() -> None:
    assert answered([(b"id", 1.0)]) and answered(3) and answered([b"id"])
    assert not answered([]) and not answered(0) and not answered(None)
    assert not answered(BackendUnavailable("redis: node down"))
