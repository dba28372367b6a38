"""`taskline top`'s figures without a server: rates from events and from polled counts, and the
plain line it prints when stdout is not a terminal."""

from taskline.cli.top_view import Rates, Reading, Status, failure_rate, plain_line
from taskline.core.states import TaskState
from taskline.core.task import Stats
from taskline.events.types import EventName


def stats(completed: int, failed: int) -> Stats:
    states = dict.fromkeys(TaskState, 0) | {TaskState.COMPLETED: completed, TaskState.FAILED: failed}
    return Stats(states=states, total=completed + failed, workers=1)


def test_event_rates_count_completions_and_failed_attempts_over_the_window() -> None:
    rates = Rates(now=0.0)
    for t in range(20):
        rates.count(EventName.TASK_COMPLETED, float(t))
    rates.count(EventName.TASK_RETRYING, 15.0)
    rates.count(EventName.TASK_FAILED, 16.0)
    rates.count(EventName.TASK_CREATED, 17.0)  # not a finished attempt

    assert rates.per_second(20.0, polling=False) == (1.0, 0.2)  # the last 10 s: 10 completed, 2 failed


def test_just_after_the_start_the_rate_is_over_the_time_so_far() -> None:
    rates = Rates(now=100.0)
    rates.count(EventName.TASK_COMPLETED, 100.5)
    rates.count(EventName.TASK_COMPLETED, 101.0)

    assert rates.per_second(102.0, polling=False) == (1.0, 0.0)


def test_polled_rates_are_the_growth_of_the_counts() -> None:
    rates = Rates(now=0.0)
    rates.poll(Reading(stats(10, 1), [], None, [], at=50.0))
    rates.poll(Reading(stats(30, 2), [], None, [], at=52.0))
    rates.poll(Reading(stats(30, 2), [], None, [], at=52.0))  # the same instant: no new figure

    assert rates.per_second(60.0, polling=True) == (10.0, 0.5)


def test_counts_that_shrink_give_no_negative_rate() -> None:
    rates = Rates(now=0.0)
    rates.poll(Reading(stats(10, 1), [], None, [], at=1.0))
    rates.poll(Reading(stats(4, 1), [], None, [], at=2.0))  # retention trimmed completed tasks

    assert rates.per_second(2.0, polling=True) == (0.0, 0.0)


def test_failure_rate_and_the_plain_line() -> None:
    line = plain_line(Reading(stats(3, 1), [], None, [], at=0.0), 1.5, 0.5, Status("http://x", "events"))

    assert failure_rate(0.0, 0.0) == "-"
    assert failure_rate(3.0, 1.0) == "25%"
    assert line.startswith("1970-01-01T00:00:00Z pending=0 ")
    assert "completed=3 failed=1 cancelled=0 total=4 workers=1 completed/s=1.5 failed/s=0.5 source=events" in line
