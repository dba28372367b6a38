"""What `/metrics` reports about tasks, as plain values both backends fill in.

Counters and histograms are kept by the backend (cluster-wide on Redis: every API instance
reports the same totals). Histograms keep a count per bucket (not cumulative) and a sum;
the exporter makes them cumulative as Prometheus wants.
"""

from dataclasses import dataclass, field
from typing import Literal

DURATION_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
)  # fmt: skip
"""Upper bounds of the run-time and wait-time histogram buckets; one more bucket holds the rest."""

Counter = Literal["submitted", "completed", "failed", "retried", "cancelled"]
COUNTERS: tuple[Counter, ...] = ("submitted", "completed", "failed", "retried", "cancelled")
Timing = Literal["run", "wait"]
"""`run`: how long an attempt ran (start to its end); `wait`: from leasable (due) to started."""
TIMINGS: tuple[Timing, ...] = ("run", "wait")
WebhookOutcome = Literal["delivered", "retried", "failed"]
WEBHOOK_OUTCOMES: tuple[WebhookOutcome, ...] = ("delivered", "retried", "failed")


def bucket_of(seconds: float) -> int:
    """The index of the bucket `seconds` falls in (len(DURATION_BUCKETS_S) for beyond the last)."""
    for index, bound in enumerate(DURATION_BUCKETS_S):
        if seconds <= bound:
            return index
    return len(DURATION_BUCKETS_S)


@dataclass(slots=True)
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS_S) + 1))
    sum_s: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bucket_of(seconds)] += 1
        self.sum_s += seconds


@dataclass(slots=True)
class TaskMetrics:
    """Task counters by (counter, queue, type), histograms by (timing, queue, type), and webhook
    deliveries by outcome."""

    counters: dict[tuple[Counter, str, str], int] = field(default_factory=dict)
    histograms: dict[tuple[Timing, str, str], Histogram] = field(default_factory=dict)
    webhooks: dict[WebhookOutcome, int] = field(default_factory=dict)

    def count(self, counter: Counter, queue: str, task_type: str, n: int = 1) -> None:
        key = (counter, queue, task_type)
        self.counters[key] = self.counters.get(key, 0) + n

    def observe(self, timing: Timing, queue: str, task_type: str, seconds: float) -> None:
        self.histograms.setdefault((timing, queue, task_type), Histogram()).observe(seconds)

    def webhook(self, outcome: WebhookOutcome) -> None:
        self.webhooks[outcome] = self.webhooks.get(outcome, 0) + 1
