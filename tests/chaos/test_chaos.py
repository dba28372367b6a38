"""The short chaos run of `make test`: several hundred tasks per backend under two faults of
each kind, judged by tests/chaos/checker.py. `make chaos` runs the full form (run.py).

One class per backend: `make test` distributes by module and class (`--dist loadscope`), so
the two runs go to two xdist workers at once instead of one after the other."""

import os
from pathlib import Path

import pytest

from tests.chaos.run import Backend, Plan, run

# TASKLINE_CHAOS_TASKS makes this run longer (or shorter) without editing it.
TASKS = int(os.environ.get("TASKLINE_CHAOS_TASKS", "600"))


def judged_run(backend: Backend, tmp_path: Path) -> None:
    plan = Plan(backend, TASKS, rate=100.0, fault_gap_s=0.3, lease_s=1.0, seed=12, http_workers=1, faults_each=2)
    report = run(plan, tmp_path)
    summary = report.summary()
    assert report.violations == [], (summary, report.violations[:20])
    assert report.fault_failures == [], summary
    assert summary["tasks_acknowledged"] == TASKS
    # Every kind of fault, twice, and the run saw what it checks.
    assert all(n == 2 for n in report.faults.values()), summary
    assert len(report.faults) == (5 if backend == "redis" else 4), summary
    assert summary["lease_expiries"] > 0, summary
    assert summary["webhook_deliveries"] >= summary["with_webhook"], summary


@pytest.mark.timeout(600)
class TestRedis:
    def test_nothing_acknowledged_is_lost_or_done_twice_under_faults(self, tmp_path: Path) -> None:
        judged_run("redis", tmp_path)


@pytest.mark.timeout(600)
class TestSqlite:
    def test_nothing_acknowledged_is_lost_or_done_twice_under_faults(self, tmp_path: Path) -> None:
        judged_run("sqlite", tmp_path)
