"""core.schedules: what a definition may say, and when it ticks, DST both ways in Europe/Berlin."""

from datetime import UTC, datetime
from typing import Any

import pytest

from taskline.core.clock import FrozenClock
from taskline.core.schedules import (
    Schedule,
    ScheduleDefinition,
    latest_tick,
    next_tick,
    parse_definition,
    replaced,
    tick_spec,
    unique_ttl,
)
from taskline.errors import PayloadTooLarge, ValidationFailed

NOW = FrozenClock().now()


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def utc(ts: float | None) -> str:
    assert ts is not None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cron(expression: str, timezone: str = "Europe/Berlin") -> ScheduleDefinition:
    return ScheduleDefinition("s", expression, None, timezone, {"type": "t"})


def every(seconds: float) -> ScheduleDefinition:
    return ScheduleDefinition("s", None, seconds, "UTC", {"type": "t"})


def ticks(definition: ScheduleDefinition, after: str, n: int) -> list[str]:
    found, t = [], at(after)
    for _ in range(n):
        t = next_tick(definition, t)  # type: ignore[assignment]
        found.append(utc(t))
    return found


def parse(**fields: Any) -> ScheduleDefinition:
    data = {"name": "nightly", "cron": "0 2 * * *", "task": {"type": "report"}, **fields}
    return parse_definition({k: v for k, v in data.items() if v is not ...}, now=NOW, max_payload_bytes=1024)


def refusal(**fields: Any) -> list[dict[str, str]]:
    with pytest.raises(ValidationFailed) as refused:
        parse(**fields)
    return refused.value.details  # type: ignore[no-any-return]


# --- DST in Europe/Berlin: spring forward 2026-03-29 02:00 CET -> 03:00 CEST;
# fall back 2026-10-25 03:00 CEST -> 02:00 CET


def test_a_fixed_time_skipped_by_spring_forward_fires_once_at_the_first_instant_after_the_gap() -> None:
    assert ticks(cron("30 2 * * *"), "2026-03-28T12:00:00+00:00", 3) == [
        "2026-03-29T01:00:00Z",  # 03:00 CEST: 02:30 did not exist
        "2026-03-30T00:30:00Z",  # 02:30 CEST
        "2026-03-31T00:30:00Z",
    ]


def test_a_fixed_time_repeated_by_fall_back_fires_once_at_its_first_occurrence() -> None:
    assert ticks(cron("30 2 * * *"), "2026-10-24T12:00:00+00:00", 3) == [
        "2026-10-25T00:30:00Z",  # 02:30 CEST, the first 02:30
        "2026-10-26T01:30:00Z",  # 02:30 CET the next day: the second 02:30 of the 25th is skipped
        "2026-10-27T01:30:00Z",
    ]
    # Asked from inside the repeated hour, after its first 02:30: the next is the next day's.
    assert ticks(cron("30 2 * * *"), "2026-10-25T00:45:00+00:00", 1) == ["2026-10-26T01:30:00Z"]


def test_an_hourly_cron_runs_every_real_hour_across_both_changes() -> None:
    assert ticks(cron("0 * * * *"), "2026-03-29T00:30:00+00:00", 3) == [
        "2026-03-29T01:00:00Z",  # 03:00 CEST straight after 01:00 CET: the lost hour has no tick
        "2026-03-29T02:00:00Z",
        "2026-03-29T03:00:00Z",
    ]
    assert ticks(cron("0 * * * *"), "2026-10-24T23:30:00+00:00", 4) == [
        "2026-10-25T00:00:00Z",  # 02:00 CEST
        "2026-10-25T01:00:00Z",  # 02:00 CET: a real hour later, so it fires too
        "2026-10-25T02:00:00Z",
        "2026-10-25T03:00:00Z",
    ]


def test_cron_is_read_in_its_time_zone_and_macros_are_cron() -> None:
    assert ticks(cron("0 9 * * 1-5"), "2027-01-15T08:00:00+00:00", 2) == [
        "2027-01-18T08:00:00Z",
        "2027-01-19T08:00:00Z",
    ]
    assert ticks(cron("@daily", "UTC"), "2027-01-15T08:00:00+00:00", 1) == ["2027-01-16T00:00:00Z"]
    assert ticks(cron("@hourly", "Asia/Kolkata"), "2027-01-15T08:10:00+00:00", 1) == ["2027-01-15T08:30:00Z"]


# --- every: absolute seconds, aligned to the epoch


def test_every_ticks_on_multiples_of_the_interval_since_the_epoch() -> None:
    assert ticks(every(60), "2027-01-15T08:00:00+00:00", 2) == ["2027-01-15T08:01:00Z", "2027-01-15T08:02:00Z"]
    assert ticks(every(3600), "2027-01-15T08:00:01+00:00", 1) == ["2027-01-15T09:00:00Z"]
    assert next_tick(every(1.5), 3.0) == 4.5
    assert next_tick(every(1), 1000.2) == 1001.0


def test_a_missed_run_is_the_latest_tick_at_or_before_now() -> None:
    assert latest_tick(every(60), 60.0, 330.0) == 300.0
    assert latest_tick(every(60), 60.0, 60.0) == 60.0
    due = at("2026-01-01T00:05:00+00:00")
    assert utc(latest_tick(cron("*/5 * * * *", "UTC"), due, at("2026-01-03T10:07:00+00:00"))) == "2026-01-03T10:05:00Z"
    # A daily job down for two months, across spring forward: the last 03:00 Berlin before now.
    due = at("2026-01-02T02:00:00+00:00")
    assert utc(latest_tick(cron("0 3 * * *"), due, at("2026-04-03T10:00:00+00:00"))) == "2026-04-03T01:00:00Z"


def test_the_unique_ttl_covers_the_period_between_60_s_and_a_day() -> None:
    assert unique_ttl(every(1), 0.0) == 60
    assert unique_ttl(every(600), 0.0) == 600
    assert unique_ttl(every(7 * 86400), 0.0) == 86400
    assert unique_ttl(cron("0 */2 * * *", "UTC"), at("2027-01-15T08:00:00+00:00")) == 7200


def test_a_tick_submits_the_stored_task_with_its_unique_key() -> None:
    definition = parse(task={"type": "report", "queue": "q", "priority": "high", "payload": [1]})
    schedule = Schedule(definition, paused=False, created_at=NOW, updated_at=NOW, next_run_at=NOW + 60)
    spec = tick_spec(schedule, NOW + 60, "2027-01-15T08:01:00.000Z")
    assert (spec.type, spec.queue, spec.priority, spec.payload) == ("report", "q", 2, [1])
    assert (spec.unique_key, spec.due_at) == ("nightly:2027-01-15T08:01:00.000Z", None)


def test_replacing_keeps_pause_creation_and_last_run_and_recomputes_the_next_run() -> None:
    first = replaced(None, every(60), NOW)
    assert (first.paused, first.created_at, first.next_run_at) == (False, NOW, NOW + 60)
    ran = Schedule(first.definition, False, NOW, NOW, NOW + 120, last_run_at=NOW + 60, last_task_id="t1")
    again = replaced(ran, every(3600), NOW + 70)
    assert (again.created_at, again.updated_at, again.next_run_at) == (NOW, NOW + 70, NOW + 3600)
    assert (again.last_run_at, again.last_task_id) == (NOW + 60, "t1")
    paused = Schedule(first.definition, True, NOW, NOW, None)
    assert replaced(paused, every(60), NOW + 5).next_run_at is None


# --- what a definition may say


def test_a_definition_fills_the_task_defaults_and_the_time_zone() -> None:
    definition = parse()
    assert (definition.name, definition.cron, definition.every, definition.timezone) == (
        "nightly",
        "0 2 * * *",
        None,
        "UTC",
    )
    assert definition.task == {
        "type": "report",
        "queue": "default",
        "payload": {},
        "priority": 1,
        "max_retries": 3,
        "timeout": 300.0,
        "metadata": {},
        "webhook": None,
    }
    assert parse(cron=..., every=2.5).every == 2.5
    assert parse(cron="@weekly", timezone="America/New_York").timezone == "America/New_York"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "a/b"}, "name"),
        ({"name": "-lead"}, "name"),
        ({"name": "x" * 129}, "name"),
        ({"name": "trailing\n"}, "name"),
        ({"cron": ...}, "cron"),  # neither
        ({"every": 60}, "cron"),  # both
        ({"cron": "0 2 * *"}, "cron"),
        ({"cron": "0 0 2 * * *"}, "cron"),  # seconds are not a field here
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),  # never
        ({"cron": ..., "every": 0.5}, "every"),
        ({"cron": ..., "every": True}, "every"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "/etc/passwd"}, "timezone"),
        ({"extra": 1}, "extra"),
        ({"task": None}, "task"),
        ({"task": {"payload": {}}}, "task.type"),
        ({"task": {"type": "t", "priority": 9}}, "task.priority"),
        ({"task": {"type": "t", "delay": 5}}, "task.delay"),
        ({"task": {"type": "t", "scheduled_at": "2030-01-01T00:00:00Z"}}, "task.scheduled_at"),
        ({"task": {"type": "t", "unique_ttl": 60}}, "task.unique_ttl"),
        ({"task": {"type": "t", "unique_key": None}}, "task.unique_key"),  # not a field here, even null
    ],
)
def test_a_broken_rule_is_named(fields: dict[str, Any], field: str) -> None:
    assert field in [detail["field"] for detail in refusal(**fields)]


def test_a_task_too_large_is_413_naming_the_task_field() -> None:
    with pytest.raises(PayloadTooLarge) as refused:
        parse(task={"type": "t", "payload": "x" * 2000})
    assert refused.value.details == [{"field": "task.payload", "message": "payload is larger than 1024 bytes"}]
    with pytest.raises(ValidationFailed) as both:  # with another broken rule: one 422 naming both
        parse(name="a/b", task={"type": "t", "payload": "x" * 2000})
    assert [d["field"] for d in both.value.details] == ["name", "task.payload"]


def test_a_schedule_must_be_an_object() -> None:
    with pytest.raises(ValidationFailed):
        parse_definition([], now=NOW, max_payload_bytes=1024)
