"""Per-minute figures from consecutive samples (core.samples), without I/O.

Minute m's figures are the sample of minute m + 1 less the sample of minute m; the current
minute's are the live totals less its own sample. A minute without a sample on either side
(no server was running to take it) has no figures (None), which is not the same as zero.

A counter that went down between two samples means the totals started again (SQLite keeps
them in process memory, so a restart resets them): the pair is then read as a reset and the
later totals are the minute's figures, rather than a negative count.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from taskline.core.measures import COUNTERS, DURATION_BUCKETS_S, TIMINGS, Counter, Histogram, Timing
from taskline.core.samples import MINUTE_S, Totals


@dataclass(frozen=True, slots=True)
class Durations:
    """One minute's run or wait times: how many, their mean, and percentiles estimated from
    the histogram buckets (None, all three, when there were none)."""

    count: int
    avg: float | None
    p50: float | None
    p95: float | None


@dataclass(frozen=True, slots=True)
class MinuteFigures:
    """What happened in the minute starting at `start` (epoch seconds); None: not known."""

    start: float
    counts: dict[Counter, int] | None
    durations: dict[Timing, Durations] | None


def went_down(earlier: Totals, later: Totals) -> bool:
    """Whether any counter or bucket count is lower later: the totals were reset between."""
    if any(later.counters[c] < earlier.counters[c] for c in COUNTERS):
        return True
    return any(
        b < a
        for timing in TIMINGS
        for a, b in zip(earlier.histograms[timing].counts, later.histograms[timing].counts, strict=True)
    )


def difference(earlier: Totals, later: Totals) -> Totals:
    """What was added from `earlier` to `later`; all of `later` when the totals were reset."""
    if went_down(earlier, later):
        return later
    histograms = {}
    for timing in TIMINGS:
        before, after = earlier.histograms[timing], later.histograms[timing]
        counts = [b - a for a, b in zip(before.counts, after.counts, strict=True)]
        histograms[timing] = Histogram(counts=counts, sum_s=max(after.sum_s - before.sum_s, 0.0))
    return Totals(counters={c: later.counters[c] - earlier.counters[c] for c in COUNTERS}, histograms=histograms)


def quantile(histogram: Histogram, q: float) -> float | None:
    """The `q` quantile, interpolated linearly within the bucket it falls in (as Prometheus'
    histogram_quantile does); in the last, unbounded bucket, that bucket's lower bound."""
    total = sum(histogram.counts)
    if total == 0:
        return None
    rank = q * total
    below = 0
    for index, n in enumerate(histogram.counts):
        if n and below + n >= rank:
            lower = DURATION_BUCKETS_S[index - 1] if index > 0 else 0.0
            if index == len(DURATION_BUCKETS_S):
                return lower
            return lower + (DURATION_BUCKETS_S[index] - lower) * (rank - below) / n
        below += n
    return DURATION_BUCKETS_S[-1]  # unreachable: the loop ends in the bucket holding `rank`


def durations(histogram: Histogram) -> Durations:
    count = sum(histogram.counts)
    if count == 0:
        return Durations(0, None, None, None)
    p50, p95 = quantile(histogram, 0.5), quantile(histogram, 0.95)
    return Durations(count, _rounded(histogram.sum_s / count), _rounded(p50), _rounded(p95))


def _rounded(seconds: float | None) -> float | None:
    """To the millisecond: finer is noise for an estimate from buckets."""
    return None if seconds is None else round(seconds, 3)


def figures(start: float, earlier: Totals | None, later: Totals | None) -> MinuteFigures:
    if earlier is None or later is None:
        return MinuteFigures(start, None, None)
    added = difference(earlier, later)
    return MinuteFigures(start, dict(added.counters), {t: durations(added.histograms[t]) for t in TIMINGS})


def series(samples: Mapping[int, Totals], live: Totals, *, now_minute: int, minutes: int) -> list[MinuteFigures]:
    """`minutes` entries, oldest first, ending with `now_minute` (the current, partial minute).

    `samples`: by minute (since the epoch). When the current minute has no sample yet (the
    sampler takes it just after the minute starts), the live totals stand in for it: the
    previous minute then runs to now and the current one is empty, rather than both unknown.
    """
    known = {**samples, now_minute + 1: live}
    known.setdefault(now_minute, live)
    first = now_minute - minutes + 1
    return [
        figures(minute * MINUTE_S, known.get(minute), known.get(minute + 1)) for minute in range(first, now_minute + 1)
    ]
