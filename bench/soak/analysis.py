"""The soak's verdicts, pure: samples in, figures and pass/fail out.

"Memory flat after warm-up": for each process (each life of it: a restarted process is a new
series), the least-squares slope over the last three quarters of its samples (and nothing from
its first minute), times that span,
is the growth the run shows; it must stay under `max(abs_bytes, rel × mean)`. A series too short
to say (a worker killed soon after it started) is reported but not judged.

"No latency drift": the p99 of the last quarter of the run against the p99 of the first; drift is
a last-quarter p99 above `ratio ×` the first's *and* more than `slack_s` above it (a 2 ms p99 going
to 4 ms is noise on a shared machine, not drift).
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Thresholds:
    warmup: float = 0.25  # share of each series (and of the run) left out as warm-up …
    warmup_s: float = 60.0  # … and at least this much of a process's life: imports, pools, first tasks
    rel: float = 0.05  # growth allowed over the judged span, as a share of the series' mean
    abs_bytes: int = 2 * MIB  # … or this much, whichever is larger
    min_points: int = 6  # judged samples a series needs before it is judged at all
    ratio: float = 1.5  # last-quarter p99 allowed over the first-quarter p99 …
    slack_s: float = 0.025  # … unless within this many seconds of it


@dataclass(frozen=True, slots=True)
class Window:
    """Latency percentiles of the values recorded in [start, start + width)."""

    start: float
    count: int
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True, slots=True)
class MemoryVerdict:
    series: str
    points: int  # judged samples (after warm-up)
    mean: float
    growth: float  # slope × judged span, bytes
    allowed: float
    judged: bool

    @property
    def flat(self) -> bool:
        return not self.judged or self.growth <= self.allowed


@dataclass(frozen=True, slots=True)
class DriftVerdict:
    what: str
    first_p99: float
    last_p99: float
    allowed: float

    @property
    def ok(self) -> bool:
        return self.last_p99 <= self.allowed


@dataclass(frozen=True, slots=True)
class Verdict:
    memory: list[MemoryVerdict]
    drift: list[DriftVerdict]

    @property
    def ok(self) -> bool:
        return all(m.flat for m in self.memory) and all(d.ok for d in self.drift)

    def lines(self) -> list[str]:
        out = []
        for m in self.memory:
            status = ("flat" if m.flat else "GROWING") if m.judged else "too short to judge"
            out.append(
                f"memory {m.series}: {status} — {m.growth / MIB:+.2f} MiB over the judged span "
                f"(allowed {m.allowed / MIB:.2f}), mean {m.mean / MIB:.1f} MiB, {m.points} samples"
            )
        for d in self.drift:
            status = "no drift" if d.ok else "DRIFT"
            out.append(
                f"latency {d.what}: {status} — p99 first quarter {d.first_p99 * 1000:.1f} ms, last quarter "
                f"{d.last_p99 * 1000:.1f} ms (allowed {d.allowed * 1000:.1f})"
            )
        out.append("verdict: " + ("PASS" if self.ok else "FAIL"))
        return out


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile `q` (0–100) of already sorted values; NaN when there are none."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def windows(points: Iterable[tuple[float, float]], width: float, end: float) -> list[Window]:
    """(time, latency) points bucketed into windows of `width` seconds from 0 to `end`."""
    count = max(1, math.ceil(end / width))
    buckets: list[list[float]] = [[] for _ in range(count)]
    for t, value in points:
        if 0 <= t < count * width:
            buckets[int(t // width)].append(value)
    out = []
    for n, bucket in enumerate(buckets):
        bucket.sort()
        out.append(Window(n * width, len(bucket), *(percentile(bucket, q) for q in (50, 95, 99))))
    return out


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y over x; 0 for fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def memory_verdict(name: str, samples: Sequence[tuple[float, float]], limits: Thresholds) -> MemoryVerdict:
    """Judge one series of (time, bytes) samples, skipping its own warm-up."""
    ordered = sorted(samples)
    judged: list[tuple[float, float]] = []
    if ordered:
        cut = max(
            ordered[min(len(ordered) - 1, math.floor(len(ordered) * limits.warmup))][0], ordered[0][0] + limits.warmup_s
        )
        judged = [(t, v) for t, v in ordered if t >= cut]
    mean = sum(v for _, v in judged) / len(judged) if judged else 0.0
    span = judged[-1][0] - judged[0][0] if judged else 0.0
    growth = slope(judged) * span
    return MemoryVerdict(
        series=name,
        points=len(judged),
        mean=mean,
        growth=growth,
        allowed=max(limits.abs_bytes, limits.rel * mean),
        judged=len(judged) >= limits.min_points,
    )


def drift_verdict(what: str, points: Sequence[tuple[float, float]], end: float, limits: Thresholds) -> DriftVerdict:
    """Compare the p99 of the first and last quarter of the run (by time, 0 … `end`)."""
    quarter = end / 4
    first = sorted(v for t, v in points if t < quarter)
    last = sorted(v for t, v in points if t >= end - quarter)
    first_p99, last_p99 = percentile(first, 99), percentile(last, 99)
    allowed = max(first_p99 * limits.ratio, first_p99 + limits.slack_s)
    return DriftVerdict(what, first_p99, last_p99, allowed)


def verdict(
    memory: dict[str, list[tuple[float, float]]],
    latencies: dict[str, list[tuple[float, float]]],
    end: float,
    limits: Thresholds = Thresholds(),
) -> Verdict:
    return Verdict(
        memory=[memory_verdict(name, samples, limits) for name, samples in memory.items()],
        drift=[drift_verdict(what, points, end, limits) for what, points in latencies.items()],
    )
