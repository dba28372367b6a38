"""A hypothesis strategy for every field of a Task, as a backend must store it."""

from typing import Any

from hypothesis import strategies as st

from taskline.core.states import TaskState
from taskline.core.task import AttemptError, Task

EPOCH_MS = 1_700_000_000_000

# What a task can hold: JSON user data (integers within what JSON clients keep exact), times
# at the millisecond the record keeps, any text where the record holds text.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
ms_times = st.integers(EPOCH_MS - 10**9, EPOCH_MS + 10**10).map(lambda ms: ms / 1000)
optional_times = st.none() | ms_times
texts = st.text(max_size=40)
attempt_errors = st.builds(AttemptError, st.integers(1, 100), texts, ms_times)


@st.composite
def tasks(draw: st.DrawFn) -> Task:
    unique_key = draw(st.none() | texts)
    return Task(
        id="0190aaaa-0000-7000-8000-000000000001",
        type=draw(st.text(min_size=1, max_size=20)),
        queue="q",
        payload=draw(json_values),
        priority=draw(st.integers(0, 3)),
        max_retries=draw(st.integers(0, 100)),
        timeout=draw(st.integers(1, 10**8)) / 1000,
        scheduled_at=draw(optional_times),
        unique_key=unique_key,
        unique_ttl=draw(st.integers(1, 2_592_000)),
        metadata=draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
        webhook=draw(st.none() | texts),
        state=draw(st.sampled_from(TaskState)),
        attempts=draw(st.integers(0, 100)),
        result=draw(json_values),
        error=draw(st.none() | texts),
        errors=draw(st.lists(attempt_errors, max_size=3)),
        progress=draw(st.none() | st.floats(0, 100)),
        worker_id=draw(st.none() | texts),
        cancel_requested=draw(st.booleans()),
        webhook_status=draw(st.none() | st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
        created_at=draw(ms_times),
        updated_at=draw(ms_times),
        started_at=draw(optional_times),
        completed_at=draw(optional_times),
        due_at=draw(ms_times),
        lease_token=draw(st.none() | texts),
        lease_expires_at=draw(optional_times),
        retry_base=draw(st.integers(0, 100)),
    )


def same(a: Task, b: Task) -> dict[str, tuple[Any, Any]]:
    """The fields that differ (an empty dict, or the test names the field that was lost)."""
    return {
        name: (getattr(a, name), getattr(b, name)) for name in Task.__slots__ if getattr(a, name) != getattr(b, name)
    }
