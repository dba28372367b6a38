"""`fanout.answered`: the one test of a partial pipeline's reply the fan-out reads share."""

import pytest

from taskline.backends.redis.fanout import answered
from taskline.errors import BackendUnavailable


@pytest.mark.parametrize("reply", [[(b"id", 1.0)], 3, [b"id"]])
def test_a_reply_that_found_something_is_an_answer(reply: object) -> None:
    assert answered(reply)


@pytest.mark.parametrize("reply", [[], 0, None, BackendUnavailable("redis: node down")])
def test_an_empty_reply_or_a_shards_failure_is_not(reply: object) -> None:
    assert not answered(reply)
