"""Priorities, order keys, backoff and ids: the small pure pieces."""

import random
import uuid

import pytest

from taskline.core.backoff import Backoff
from taskline.core.ids import is_task_id, new_task_id
from taskline.core.priority import Priority, order_key, parse_priority


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (3, 3), ("LOW", 0), ("High", 2), ("critical", 3)])
def test_priority_by_int_or_name(value: object, expected: int) -> None:
    assert parse_priority(value) == expected


@pytest.mark.parametrize("value", [True, False, 1.0, 4, -1, "urgent", None, [1]])
def test_bad_priorities_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="must be"):
        parse_priority(value)


def test_strict_order_puts_any_higher_priority_first() -> None:
    ten_years_ms = 10 * 365 * 86400 * 1000
    assert order_key(Priority.HIGH, ten_years_ms) < order_key(Priority.NORMAL, 0)
    assert order_key(Priority.LOW, 5) < order_key(Priority.LOW, 6)


def test_aging_lets_an_old_low_task_overtake() -> None:
    assert order_key(0, 0, aging_s=10) < order_key(2, 25_000, aging_s=10)
    assert order_key(2, 15_000, aging_s=10) < order_key(0, 0, aging_s=10)


def test_backoff_doubles_up_to_the_cap_with_full_jitter() -> None:
    backoff = Backoff(base_s=1, cap_s=10)
    assert [backoff.ceiling_s(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff.delay_s(3, jitter=0.5) == 2
    assert backoff.delay_s(3, jitter=0.0) == 0


def test_ids_are_uuid7_and_increase() -> None:
    ids = [new_task_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5000
    assert all(uuid.UUID(i).version == 7 and is_task_id(i) for i in ids[:10])
    assert not is_task_id("not-an-id")


def test_ids_stay_unique_when_user_code_seeds_the_random_module() -> None:
    random.seed(0)
    first = new_task_id()
    random.seed(0)
    second = new_task_id()

    assert first[-17:] != second[-17:]  # the random bits, not only the counter, differ
