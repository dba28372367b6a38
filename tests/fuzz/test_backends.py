"""What reaches Lua and SQL, generated, on both backends directly: every name the rules let
through (queue, type, worker ids), unique keys, task ids and tokens of any text, payloads,
metadata and results of any JSON (deep, wide, odd numbers and strings), and values that are
not JSON at all (NaN, integers past 64 bits, lone surrogates, nesting past the encoder).

A backend either refuses with a Taskline error (never a redis or sqlite one, never a
TypeError) or stores the task so that it reads back as submitted, leases by its own queue and
type, completes with the result as sent, and is found by the list's filters."""

import contextlib
import itertools
import math
import string
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskline.backends.base import Backend
from taskline.core.clock import FrozenClock
from taskline.core.config import EngineConfig
from taskline.core.outcomes import Completion
from taskline.core.spec import parse_spec, stored_json_size
from taskline.core.task import TaskFilter
from taskline.errors import NotFound, TasklineError, ValidationFailed
from taskline.service import TaskService
from tests.fuzz.conftest import fuzz_examples
from tests.helpers.backends import open_test_backend

NAME_CHARS = string.ascii_letters + string.digits + "_.:-"
names = st.text(NAME_CHARS, min_size=1, max_size=64)
# Any text a JSON string can hold (no lone surrogates: those cannot come in as JSON).
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
numbers = st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5),
    max_leaves=30,
)
# Values a Python caller can hand the backend that JSON has no room for.
not_json = st.sampled_from(
    [float("nan"), float("inf"), 2**64, -(2**70), "\ud800", {"\udfff": 1}, b"bytes", {1: "int key"}]
)


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


FUZZ = settings(
    max_examples=fuzz_examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(params=["sqlite", "redis"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock, engine_config: EngineConfig
) -> AsyncIterator[Backend]:
    async for backend in open_test_backend(request, tmp_path, clock, engine_config):
        yield backend


_examples = itertools.count()


def spec_of(data: dict[str, Any], clock: FrozenClock) -> Any:
    return parse_spec(data, now=clock.now(), max_payload_bytes=1 << 20)


@FUZZ
@given(
    queue=names,
    type=st.text(NAME_CHARS, min_size=1, max_size=128),
    unique_key=st.none() | st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=256),
    payload=json_values,
    metadata=st.dictionaries(texts, json_values, max_size=4),
    result=json_values,
    worker_id=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=128),
)
async def test_any_valid_task_round_trips_through_the_backend(
    store: Backend,
    clock: FrozenClock,
    queue: str,
    type: str,
    unique_key: str | None,
    payload: Any,
    metadata: dict[str, Any],
    result: Any,
    worker_id: str,
) -> None:
    # A queue of the example's own: a unique key an earlier example used (in the same queue)
    # would rightly hand back that example's task.
    queue = f"{next(_examples)}-{queue}"[:64]
    data: dict[str, Any] = {"type": type, "queue": queue, "payload": payload, "metadata": metadata}
    if unique_key is not None:
        data["unique_key"] = unique_key
    try:
        spec = spec_of(data, clock)
    except TasklineError:
        return  # refused before the backend: the rules' business, fuzzed over HTTP
    (submitted,) = await store.submit([spec])
    task = submitted.task
    as_json = orjson.loads(orjson.dumps(payload))  # what a JSON client sent and reads back
    assert (task.type, task.queue, task.payload, task.metadata) == (
        type,
        queue,
        as_json,
        orjson.loads(orjson.dumps(metadata)),
    )
    if unique_key is not None:
        assert task.unique_key == unique_key
        (again,) = await store.submit([spec_of(data, clock)])
        assert (again.task.id, again.created) == (task.id, False)
    read = await store.get(task.id)
    assert read is not None
    assert (read.payload, read.unique_key) == (task.payload, task.unique_key)
    page = await store.list_tasks(TaskFilter(type=type, queue=queue), limit=500)
    assert task.id in {t.id for t in page.tasks}

    leases = await store.lease(worker_id=worker_id, queues=[queue], types=[type], max=1)
    assert [lease.task.id for lease in leases] == [task.id]
    done = await store.complete(task.id, leases[0].token, result=result)
    assert done.result == orjson.loads(orjson.dumps(result))
    assert (await store.get(task.id)).result == done.result  # type: ignore[union-attr]


@FUZZ
@given(task_id=st.text(max_size=200), token=st.text(max_size=200))
async def test_any_id_or_token_is_not_found_or_lease_lost(store: Backend, task_id: str, token: str) -> None:
    """Ids and tokens of any text (lone surrogates too: a Python caller can pass them) reach
    the lookups: the answer is NotFound, never a backend's own error."""
    for call in (
        store.get(task_id),
        store.cancel(task_id),
        store.retry(task_id),
        store.heartbeat(task_id, token, progress=50.0),
        store.complete(task_id, token),
        store.fail(task_id, token, error="x"),
        store.release(task_id, token),
    ):
        with contextlib.suppress(NotFound):
            assert await call is None  # only `get` answers rather than raising


@FUZZ
@given(field=st.sampled_from(["payload", "metadata", "result"]), value=not_json | st.integers(255, 1000).map(nested))
async def test_what_json_cannot_hold_is_refused_with_a_validation_error(
    store: Backend, clock: FrozenClock, field: str, value: Any
) -> None:
    """NaN and infinities (stored as null by one encoder and as themselves by the other),
    integers past 64 bits, lone surrogates, bytes, non-string keys, nesting past the
    encoder: ValidationFailed from the one rule every path goes through, nothing stored."""
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN: the encoder writes null, so it reads back as null on both backends.
        assert stored_json_size({"x": value}, field) == len(b'{"x":null}')
        return
    service = TaskService(store, clock=clock)

    async def attempt() -> None:
        if field == "result":
            (submitted,) = await store.submit([spec_of({"type": "t", "queue": "odd"}, clock)])
            (lease,) = await store.lease(worker_id="w", queues=["odd"])
            await service.settle_one(Completion(submitted.task.id, lease.token, value))
        else:
            await service.submit({"type": "t", "queue": "odd", field: {"v": value} if field == "metadata" else value})

    with pytest.raises(ValidationFailed) as refused:
        await attempt()
    assert refused.value.details[0]["field"] == field
    page = await store.list_tasks(TaskFilter(queue="odd"), limit=10)
    assert all(t.state.value == "running" for t in page.tasks)  # only the leased one, still running
