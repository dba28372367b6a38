"""SQLite and Redis, driven through the same random operations, agree at every step.

`make test` runs a short form; `make test-differential` a longer one
(TASKLINE_DIFFERENTIAL_EXAMPLES, TASKLINE_DIFFERENTIAL_STEPS)."""

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.differential.machine import Differential

EXAMPLES = int(os.environ.get("TASKLINE_DIFFERENTIAL_EXAMPLES", "20"))
STEPS = int(os.environ.get("TASKLINE_DIFFERENTIAL_STEPS", "25"))


@pytest.mark.timeout(900)  # shrinking a failure replays many short runs, each on fresh stores
def test_sqlite_and_redis_agree(redis_url: str) -> None:
    Differential.redis_url = redis_url
    run_state_machine_as_test(
        Differential,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
