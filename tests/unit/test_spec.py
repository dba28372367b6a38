"""Submit validation (SPEC §1): every rule names its field."""

from typing import Any

import pytest

from taskline.core.spec import parse_spec
from taskline.errors import PayloadTooLarge, ValidationFailed

NOW = 1_800_000_000.0


def parse(**data: Any) -> Any:
    return parse_spec(data, now=NOW, max_payload_bytes=1000)


def refused_fields(**data: Any) -> list[str]:
    with pytest.raises(ValidationFailed) as refused:
        parse(**data)
    return [d["field"] for d in refused.value.details]


def test_defaults() -> None:
    spec = parse(type="email")
    assert (spec.queue, spec.payload, spec.priority, spec.max_retries, spec.timeout) == ("default", {}, 1, 3, 300)
    assert (spec.due_at, spec.unique_key, spec.unique_ttl, spec.metadata, spec.webhook) == (None, None, 86400, {}, None)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "type"),
        ({"type": ""}, "type"),
        ({"type": "a b"}, "type"),
        ({"type": "x" * 129}, "type"),
        ({"type": "t", "queue": "q" * 65}, "queue"),
        ({"type": "t", "queue": "{q}"}, "queue"),
        ({"type": "t", "priority": True}, "priority"),
        ({"type": "t", "priority": 1.0}, "priority"),
        ({"type": "t", "max_retries": 101}, "max_retries"),
        ({"type": "t", "max_retries": "3"}, "max_retries"),
        ({"type": "t", "timeout": 0}, "timeout"),
        ({"type": "t", "timeout": 86401}, "timeout"),
        ({"type": "t", "timeout": float("nan")}, "timeout"),
        ({"type": "t", "delay": -1}, "delay"),
        ({"type": "t", "delay": 31536001}, "delay"),
        ({"type": "t", "scheduled_at": "2030-01-01T00:00:00"}, "scheduled_at"),
        ({"type": "t", "scheduled_at": "tomorrow"}, "scheduled_at"),
        ({"type": "t", "scheduled_at": "2099-01-01T00:00:00Z"}, "scheduled_at"),
        ({"type": "t", "scheduled_at": "2030-01-01T00:00:00Z", "delay": 1}, "delay"),
        ({"type": "t", "unique_key": ""}, "unique_key"),
        ({"type": "t", "unique_ttl": 0}, "unique_ttl"),
        ({"type": "t", "metadata": []}, "metadata"),
        ({"type": "t", "webhook": "ftp://x.org/h"}, "webhook"),
        ({"type": "t", "state": "completed"}, "state"),
        ({"type": "t", "id": "x"}, "id"),
    ],
)
def test_each_rule_names_its_field(data: dict[str, Any], field: str) -> None:
    assert refused_fields(**data) == [field]


def test_all_broken_fields_are_reported_together() -> None:
    assert refused_fields(type="", priority="urgent", max_retries=-1) == ["type", "priority", "max_retries"]


def test_schedule_by_delay() -> None:
    assert parse(type="t", delay=30).due_at == NOW + 30
    assert parse(type="t", delay=0).due_at is None


def test_scheduled_at_honours_its_offset() -> None:
    with_offset = parse(type="t", scheduled_at="2027-03-15T08:00:00+01:00").due_at
    in_utc = parse(type="t", scheduled_at="2027-03-15T07:00:00Z").due_at
    assert with_offset == in_utc == 1_805_094_000.0


def test_sizes_over_the_limit_are_413() -> None:
    with pytest.raises(PayloadTooLarge):
        parse(type="t", payload="x" * 1000)
    with pytest.raises(PayloadTooLarge):
        parse(type="t", metadata={"x": "y" * 70000})
