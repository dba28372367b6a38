"""A hypothesis strategy for every field of a Task, as a backend must store it."""

from typing import Any

from hypothesis import strategies as st

from taskline.core.states import TaskState
from taskline.core.task import TASK_FIELDS, AttemptError, Task

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


def field_strategies(unique_key: str | None) -> dict[str, st.SearchStrategy[Any]]:
    """A strategy per field of Task, odd values included; core.task.TASK_FIELDS must be exactly
    its keys, so a new field fails every codec's round trip until it is given one here."""
    return {
        "id": st.just("0190aaaa-0000-7000-8000-000000000001"),
        "type": st.text(min_size=1, max_size=20),
        "queue": st.just("q"),
        "payload": json_values,
        "priority": st.integers(0, 3),
        "max_retries": st.integers(0, 100),
        "timeout": st.integers(1, 10**8).map(lambda ms: ms / 1000),
        "scheduled_at": optional_times,
        "unique_key": st.just(unique_key),
        "unique_ttl": st.integers(1, 2_592_000),
        "metadata": st.dictionaries(st.text(max_size=5), json_values, max_size=3),
        "webhook": st.none() | texts,
        "state": st.sampled_from(TaskState),
        "attempts": st.integers(0, 100),
        "result": json_values,
        "error": st.none() | texts,
        "errors": st.lists(attempt_errors, max_size=3),
        "progress": st.none() | st.floats(0, 100),
        "worker_id": st.none() | texts,
        "cancel_requested": st.booleans(),
        "webhook_status": st.none() | st.dictionaries(st.text(max_size=5), json_values, max_size=3),
        "created_at": ms_times,
        "updated_at": ms_times,
        "started_at": optional_times,
        "completed_at": optional_times,
        "due_at": ms_times,
        "lease_token": st.none() | texts,
        "lease_expires_at": optional_times,
        "retry_base": st.integers(0, 100),
    }


@st.composite
def tasks(draw: st.DrawFn) -> Task:
    strategies = field_strategies(draw(st.none() | texts))
    assert tuple(strategies) == TASK_FIELDS, "tests/helpers/records.py: give every Task field a strategy"
    return Task(**{name: draw(strategy) for name, strategy in strategies.items()})


def same(a: Task, b: Task) -> dict[str, tuple[Any, Any]]:
    """The fields that differ (an empty dict, or the test names the field that was lost)."""
    return {name: (getattr(a, name), getattr(b, name)) for name in TASK_FIELDS if getattr(a, name) != getattr(b, name)}
