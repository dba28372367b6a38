"""schemathesis from docs/openapi.json against a live `taskline serve` on each backend, with
API keys on: every operation with generated valid and invalid input, as each role and as
nobody, then sequences that follow the document's links (submit → read, cancel, retry;
poll → heartbeat, complete, fail, release). Every answer below 500 and in SPEC's error
shape, a refused request changing nothing, and schemathesis' own checks (schema.CHECKS)."""

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from tests.fuzz.conftest import fuzz_examples
from tests.fuzz.schema import Caller, load
from tests.helpers.live import LiveServer

schema = load(max_examples=3)
STATEFUL = settings(
    max_examples=fuzz_examples(4),
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def caller(fuzz_server: LiveServer) -> Iterator[Caller]:
    caller = Caller(fuzz_server)
    yield caller
    caller.close()


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_operation(case: Case, caller: Caller) -> None:
    caller.check(case)


def test_sequences_following_the_links(caller: Caller) -> None:
    class Flow(schema.as_state_machine()):  # type: ignore[misc]
        def step(self, input: StepInput) -> StepOutput:
            # As the admin (the links lead into every role's routes); checked as any case is.
            return StepOutput(caller.check(input.case, role="admin"), input.case)

    Flow.run(settings=STATEFUL)
