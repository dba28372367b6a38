"""The chaos checker on histories made by hand: a sound one passes, each kind of bad one is named."""

from dataclasses import replace

import pytest

from tests.chaos.checker import Bounds, Violation, check, scheduler_outages
from tests.chaos.history import Accepted, Delivered, Final, Heartbeat, History, Leased, SeenRunning, Submitted

BOUNDS = Bounds(lease_s=2.0, period_s=1.0, slack_s=1.0)


def sound() -> History:
    """Task a: completed on its second attempt after a lease expiry, webhook delivered twice (at
    least once is the promise). Task b: failed for good by its handler. Task c: scheduled."""
    return History(
        submitted=[
            Submitted("a", "ok", max_retries=0, webhook=True),
            Submitted("b", "doomed", max_retries=3),
            Submitted("c", "ok", max_retries=1, scheduled_at=100.0),
        ],
        leased=[Leased("a", "t1", 1), Leased("a", "t2", 2), Leased("b", "t3", 1), Leased("c", "t4", 1)],
        heartbeats=[Heartbeat("a", "t2", at=13.0)],
        accepted=[
            Accepted("a", "t2", "complete", "completed"),
            Accepted("a", "t2", "complete", "completed"),  # a resend of the same completion
            Accepted("b", "t3", "fail", "failed"),
            Accepted("c", "t4", "complete", "completed"),
        ],
        seen_running=[SeenRunning(at=15.5, task_id="a", attempt=2, started_at=12.0)],
        delivered=[Delivered("a", "d1", "task.completed"), Delivered("a", "d1", "task.completed")],
        finals={
            "a": Final("a", "completed", 2, 0, ("lease expired",), result_attempt=2, started_at=12.0),
            "b": Final("b", "failed", 1, 3, ("doomed",), started_at=20.0),
            "c": Final("c", "completed", 1, 1, (), result_attempt=1, started_at=100.2),
        },
    )


def test_a_sound_history_passes() -> None:
    assert check(sound(), BOUNDS) == []


def checks(history: History) -> list[tuple[str, str]]:
    return [(v.check, v.task_id) for v in check(history, BOUNDS)]


def test_an_acknowledged_task_that_is_gone_is_lost() -> None:
    history = sound()
    del history.finals["b"]
    assert checks(history) == [("lost", "b")]


@pytest.mark.parametrize("state", ["pending", "running", "retrying", "scheduled"])
def test_any_task_left_unfinished_is_named_acknowledged_or_not(state: str) -> None:
    history = sound()
    history.finals["orphan"] = Final("orphan", state, 1, 3, ())
    assert ("not_terminal", "orphan") in checks(history)


def test_two_completions_accepted_for_one_task() -> None:
    history = sound()
    history.accepted.append(Accepted("a", "t1", "complete", "completed"))
    assert ("completed_twice", "a") in checks(history)
    assert ("ended_twice", "a") in checks(history)


def test_a_completion_and_a_fatal_failure_both_accepted() -> None:
    history = sound()
    history.leased.append(Leased("b", "t5", 2))
    history.accepted.append(Accepted("b", "t5", "complete", "completed"))
    assert ("ended_twice", "b") in checks(history)


def test_an_accepted_completion_that_does_not_stand() -> None:
    history = sound()
    history.finals["c"] = replace(history.finals["c"], state="failed", errors=("lease expired",))
    assert ("outcome_not_kept", "c") in checks(history)


def test_a_later_attempts_result_over_the_accepted_one() -> None:
    history = sound()
    history.finals["a"] = replace(history.finals["a"], result_attempt=1)
    assert checks(history) == [("outcome_not_kept", "a")]


def test_a_task_failed_with_retries_left() -> None:
    history = sound()
    history.finals["c"] = Final("c", "failed", 1, 1, ("lease expired",), started_at=100.5)
    history.accepted = [a for a in history.accepted if a.task_id != "c"]
    assert checks(history) == [("wrong_end", "c")]


def test_a_doomed_task_that_completed() -> None:
    history = sound()
    history.finals["b"] = Final("b", "completed", 1, 3, (), result_attempt=1)
    history.accepted = [a for a in history.accepted if a.task_id != "b"]
    assert checks(history) == [("wrong_end", "b")]


def test_an_attempt_without_its_error() -> None:
    history = sound()
    history.finals["a"] = replace(history.finals["a"], errors=())
    assert ("attempts_unaccounted", "a") in checks(history)


def test_more_attempts_than_retries_and_expiries_allow() -> None:
    history = sound()
    history.finals["c"] = Final("c", "completed", 3, 1, ("boom", "boom"), result_attempt=3, started_at=101.0)
    history.accepted = [a for a in history.accepted if a.task_id != "c"]
    assert checks(history) == [("too_many_attempts", "c")]


def test_running_past_the_lease_and_the_schedulers_period() -> None:
    history = sound()
    history.seen_running.append(SeenRunning(at=17.1, task_id="a", attempt=2, started_at=12.0))
    assert checks(history) == [("running_past_lease", "a")]


def test_time_with_no_scheduler_running_is_not_held_against_the_lease() -> None:
    history = sound()
    history.seen_running.append(SeenRunning(at=20.0, task_id="a", attempt=2, started_at=12.0))
    history.outages = [(14.0, 16.0), (18.5, 30.0)]  # 2 s + 1.5 s of the 3 s it is late
    assert checks(history) == []
    history.outages = [(14.0, 16.0)]
    assert checks(history) == [("running_past_lease", "a")]


def test_outages_are_when_every_scheduler_or_the_store_is_down() -> None:
    one = [(0.0, 5.0), (10.0, 12.0)]
    other = [(3.0, 11.0)]
    assert scheduler_outages([one, other], store=[(20.0, 21.0)]) == [(3.0, 5.0), (10.0, 11.0), (20.0, 21.0)]
    assert scheduler_outages([one], store=[(4.0, 6.0)]) == [(0.0, 6.0), (10.0, 12.0)]
    assert scheduler_outages([], store=[]) == []


def test_a_heartbeat_of_another_attempt_does_not_extend_this_one() -> None:
    history = sound()
    history.heartbeats.append(Heartbeat("a", "t1", at=15.0))  # attempt 1's lease, long recovered
    history.seen_running.append(SeenRunning(at=17.1, task_id="a", attempt=2, started_at=12.0))
    assert checks(history) == [("running_past_lease", "a")]


def test_a_scheduled_task_that_started_early() -> None:
    history = sound()
    history.finals["c"] = replace(history.finals["c"], started_at=99.0)
    assert checks(history) == [("started_early", "c")]


def test_a_webhook_never_delivered_or_for_another_state() -> None:
    history = sound()
    history.delivered = [Delivered("a", "d1", "task.failed")]
    assert check(history, BOUNDS) == [
        Violation("webhook_missing", "a", "ended completed, receiver got ['task.failed']")
    ]
