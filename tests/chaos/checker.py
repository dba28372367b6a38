"""The chaos run's judge: a history in, the violations out. Pure: no I/O, no clock.

What it holds the system to (SPEC §2, §6, §8):
- every acknowledged task is still there and ends in exactly one terminal state, and so does
  every task the backend holds (an unacknowledged submit may exist, but must not be stuck);
- no completion is accepted twice, and no two terminal outcomes for one task are accepted;
- an accepted outcome is the one that stands: the task ends as it said, with that attempt;
- a task fails only for good reasons: its handler failed it, or it used up its retries;
- every attempt is accounted for (an error per failed attempt) and attempts never exceed
  `max_retries + 1` plus the lease expiries;
- nothing is seen running past its lease (from its start or its last heartbeat) plus the
  scheduler's period, not counting the time no scheduler could run (`History.outages`);
- a scheduled task never starts before its time;
- a task with a webhook has it delivered at least once, for the state it ended in.
"""

from collections import defaultdict
from dataclasses import dataclass

from tests.chaos.history import Accepted, History

TERMINAL = frozenset({"completed", "failed", "cancelled"})
EXPIRY_ERRORS = frozenset({"lease expired", "timeout"})
_CLOCK_GRAIN_S = 0.001  # the backends keep milliseconds


@dataclass(slots=True, frozen=True)
class Bounds:
    """The times the running check allows: a lease, how often the scheduler looks, and slack
    for a loaded machine (a request's own time, a process descheduled for a moment)."""

    lease_s: float
    period_s: float = 1.0
    slack_s: float = 2.0


@dataclass(slots=True, frozen=True)
class Violation:
    check: str
    task_id: str
    detail: str


def check(history: History, bounds: Bounds) -> list[Violation]:
    return [
        *_acknowledged_tasks_end(history),
        *_outcomes(history),
        *_ends(history),
        *_running(history, bounds),
        *_webhooks(history),
    ]


def _acknowledged_tasks_end(history: History) -> list[Violation]:
    found = [Violation("lost", s.id, "acknowledged, but gone") for s in history.submitted if s.id not in history.finals]
    found += [
        Violation("not_terminal", f.id, f"ended the run {f.state}")
        for f in history.finals.values()
        if f.state not in TERMINAL
    ]
    return found


def _attempt_of(history: History) -> dict[tuple[str, str], int]:
    return {(x.task_id, x.token): x.attempt for x in history.leased}


def _outcomes(history: History) -> list[Violation]:
    attempts = _attempt_of(history)
    by_task: dict[str, list[Accepted]] = defaultdict(list)
    for accepted in history.accepted:
        by_task[accepted.task_id].append(accepted)
    found: list[Violation] = []
    for task_id, outcomes in by_task.items():
        completions = {a.token for a in outcomes if a.outcome == "complete"}
        if len(completions) > 1:
            found.append(Violation("completed_twice", task_id, f"completions accepted for {len(completions)} leases"))
        ending = {a.token: a for a in outcomes if a.state in TERMINAL}
        if len(ending) > 1:
            states = sorted(f"{a.outcome}->{a.state}" for a in ending.values())
            found.append(Violation("ended_twice", task_id, f"terminal outcomes accepted: {states}"))
        final = history.finals.get(task_id)
        if final is None:
            continue
        for token, accepted in ending.items():
            attempt = attempts.get((task_id, token))
            if final.state != accepted.state:
                found.append(
                    Violation("outcome_not_kept", task_id, f"accepted as {accepted.state}, ended {final.state}")
                )
            elif attempt is not None and accepted.outcome == "complete" and final.result_attempt != attempt:
                detail = f"attempt {attempt}'s completion accepted, attempt {final.result_attempt}'s result stands"
                found.append(Violation("outcome_not_kept", task_id, detail))
            elif attempt is not None and accepted.outcome == "fail" and final.attempts != attempt:
                detail = f"attempt {attempt} failed it for good, yet it made {final.attempts} attempts"
                found.append(Violation("outcome_not_kept", task_id, detail))
    return found


def _ends(history: History) -> list[Violation]:
    found: list[Violation] = []
    for submitted in history.submitted:
        final = history.finals.get(submitted.id)
        if final is None or final.state not in TERMINAL:
            continue
        expiries = sum(1 for e in final.errors if e in EXPIRY_ERRORS)
        if final.state == "completed" and submitted.kind == "doomed":
            found.append(Violation("wrong_end", final.id, "a task its handler fails for good completed"))
        if final.state == "failed" and submitted.kind != "doomed" and final.attempts < final.max_retries + 1:
            detail = f"failed after {final.attempts} of {final.max_retries + 1} attempts: {list(final.errors)}"
            found.append(Violation("wrong_end", final.id, detail))
        if final.state == "cancelled":
            found.append(Violation("wrong_end", final.id, "cancelled, though nobody cancelled it"))
        failed_attempts = final.attempts - 1 if final.state == "completed" else final.attempts
        if len(final.errors) != failed_attempts:
            detail = f"{final.state} after {final.attempts} attempts with {len(final.errors)} errors"
            found.append(Violation("attempts_unaccounted", final.id, detail))
        if final.attempts > final.max_retries + 1 + expiries:
            detail = f"{final.attempts} attempts, max_retries {final.max_retries}, {expiries} lease expiries"
            found.append(Violation("too_many_attempts", final.id, detail))
        due = submitted.scheduled_at
        if due is not None and final.started_at is not None and final.started_at < due - _CLOCK_GRAIN_S:
            found.append(Violation("started_early", final.id, f"started {due - final.started_at:.3f} s early"))
    return found


def _running(history: History, bounds: Bounds) -> list[Violation]:
    attempts = _attempt_of(history)
    last_heartbeat: dict[tuple[str, int], float] = {}
    for beat in history.heartbeats:
        attempt = attempts.get((beat.task_id, beat.token))
        if attempt is not None:
            key = (beat.task_id, attempt)
            last_heartbeat[key] = max(beat.at, last_heartbeat.get(key, beat.at))
    found: list[Violation] = []
    for seen in history.seen_running:
        renewed = max(seen.started_at, last_heartbeat.get((seen.task_id, seen.attempt), seen.started_at))
        unwatched = sum(max(0.0, min(seen.at, to) - max(renewed, since)) for since, to in history.outages)
        late = seen.at - (renewed + bounds.lease_s + bounds.period_s + bounds.slack_s) - unwatched
        if late > 0:
            detail = f"attempt {seen.attempt} still running {late:.1f} s past its lease and the scheduler's period"
            found.append(Violation("running_past_lease", seen.task_id, detail))
    return found


def _webhooks(history: History) -> list[Violation]:
    events: dict[str, set[str]] = defaultdict(set)
    for delivery in history.delivered:
        events[delivery.task_id].add(delivery.event)
    found: list[Violation] = []
    for submitted in history.submitted:
        final = history.finals.get(submitted.id)
        if not submitted.webhook or final is None or final.state not in TERMINAL:
            continue
        if f"task.{final.state}" not in events[submitted.id]:
            got = sorted(events[submitted.id]) or "nothing"
            found.append(Violation("webhook_missing", submitted.id, f"ended {final.state}, receiver got {got}"))
    return found


Interval = tuple[float, float]


def scheduler_outages(schedulers: list[list[Interval]], store: list[Interval]) -> list[Interval]:
    """When no scheduler could run: every one of `schedulers` down at once (each given as its
    down intervals), or the `store` they all need down."""
    if not schedulers:
        return _union(store)
    both = _union(schedulers[0])
    for downs in schedulers[1:]:
        both = _intersect(both, _union(downs))
    return _union(both + store)


def _union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for since, to in sorted(intervals):
        if merged and since <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], to))
        else:
            merged.append((since, to))
    return merged


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Of two sorted, disjoint interval lists."""
    found: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        since, to = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if since < to:
            found.append((since, to))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return found
