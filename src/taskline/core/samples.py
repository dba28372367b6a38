"""Per-minute samples of the task totals: what the minute sampler stores and the series reads.

A sample is the cluster-wide cumulative figures (`Backend.task_metrics()` summed over queues
and types) at the start of one minute. Only the sums are kept, not each queue's: a sample is
then a fixed ~300 bytes whatever the number of queues, where per-queue samples would grow with
every queue name a producer ever used (x 1,440 minutes kept).
"""

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from taskline.core.measures import COUNTERS, DURATION_BUCKETS_S, TIMINGS, Counter, Histogram, TaskMetrics, Timing

log = logging.getLogger(__name__)

MINUTE_S = 60
KEPT_MINUTES = 1440
"""Samples kept: a day, the longest series `GET /api/v1/stats/series` answers."""


def minute_of(ts: float) -> int:
    """Minutes since the Unix epoch of the minute holding `ts`."""
    return math.floor(ts / MINUTE_S)


def oldest_kept(minute: int) -> int:
    """The oldest minute still kept once `minute` is sampled: the series of KEPT_MINUTES
    minutes ending at `minute` needs exactly the samples from there on."""
    return minute - KEPT_MINUTES + 1


def readable(first: int, last: int) -> range:
    """The minutes of `first` to `last` a read looks at: at most the last KEPT_MINUTES of them,
    since no more are kept (and a wider HMGET would be as big as the range asked)."""
    return range(max(first, last - KEPT_MINUTES + 1), last + 1)


@dataclass(slots=True)
class Totals:
    """Cumulative task counters and run/wait histograms, summed over every queue and type."""

    counters: dict[Counter, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    histograms: dict[Timing, Histogram] = field(default_factory=lambda: {t: Histogram() for t in TIMINGS})


def totals_of(metrics: TaskMetrics) -> Totals:
    totals = Totals()
    for (counter, _queue, _type), n in metrics.counters.items():
        totals.counters[counter] += n
    for (timing, _queue, _type), histogram in metrics.histograms.items():
        summed = totals.histograms[timing]
        summed.counts = [a + b for a, b in zip(summed.counts, histogram.counts, strict=True)]
        summed.sum_s += histogram.sum_s
    return totals


def encode(totals: Totals) -> str:
    """The stored form: compact JSON, the same on both backends."""
    histograms = {t: {"counts": h.counts, "sum_s": round(h.sum_s, 3)} for t, h in totals.histograms.items()}
    return orjson.dumps({"counters": totals.counters, **histograms}).decode()


def decode(stored: str | bytes) -> Totals:
    """The totals of a stored sample.

    Raises:
        ValueError: not a sample this code wrote (say, one taken with other histogram buckets).
    """
    try:
        data = orjson.loads(stored)
        totals = Totals(counters={c: int(data["counters"][c]) for c in COUNTERS})
        for timing in TIMINGS:
            counts = [int(n) for n in data[timing]["counts"]]
            if len(counts) != len(DURATION_BUCKETS_S) + 1:
                raise ValueError(f"a sample with {len(counts)} buckets, not {len(DURATION_BUCKETS_S) + 1}")
            totals.histograms[timing] = Histogram(counts=counts, sum_s=float(data[timing]["sum_s"]))
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"not a sample: {exc!r}") from exc
    return totals


def decode_each(stored: Iterable[tuple[int, str | bytes | None]]) -> dict[int, Totals]:
    """The samples of (minute, stored form) pairs as read from a backend, by minute: a minute
    without one (None) is left out, and so is one that does not decode, with a warning, since
    a chart with a gap is better than no chart."""
    samples = {}
    for minute, value in stored:
        if value is None:
            continue
        try:
            samples[minute] = decode(value)
        except ValueError as exc:
            log.warning("skipping the sample of minute %d: %s", minute, exc)
    return samples
