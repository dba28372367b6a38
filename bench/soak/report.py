"""What a recording becomes: the ~5-minute table (Markdown), the plot's lines, and the JSON of
samples that docs/ keeps. Pure functions of a Recording."""

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bench.soak.analysis import MIB, Verdict, Window, windows
from bench.soak.run import USED_MEMORY, Recording
from bench.soak.svg import Line, plot


def slot(series: str) -> str:
    """`worker-1#3` → `worker-1`: the process slot, whichever life of it."""
    return series.split("#", 1)[0]


def slots(recording: Recording) -> list[str]:
    names = {slot(s) for s in recording.memory}
    # the processes first, in a stable order; Redis's own figure of its data last
    return sorted(names - {USED_MEMORY}) + ([USED_MEMORY] if USED_MEMORY in names else [])


def mean_in(points: Sequence[tuple[float, float]], start: float, end: float) -> float:
    inside = [v for t, v in points if start <= t < end]
    return sum(inside) / len(inside) if inside else math.nan


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value * 1000:.1f}"


def table(recording: Recording, width_s: float = 300) -> str:
    by_slot: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for series, points in recording.memory.items():
        by_slot[slot(series)].extend(points)
    names = slots(recording)
    tasks = windows(recording.tasks, width_s, recording.duration)
    submits = windows(recording.submits, width_s, recording.duration)
    head = ["minutes", *(f"{n} MiB" for n in names), "tasks", "task p50/p95/p99 ms", "submit p50/p95/p99 ms"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for task, submit in zip(tasks, submits, strict=True):
        end = task.start + width_s
        memory = [mean_in(by_slot[n], task.start, end) / MIB for n in names]
        cells = [
            f"{task.start / 60:g}–{min(end, recording.duration) / 60:g}",
            *("–" if math.isnan(m) else f"{m:.1f}" for m in memory),
            f"{task.count:,}",
            f"{ms(task.p50)} / {ms(task.p95)} / {ms(task.p99)}",
            f"{ms(submit.p50)} / {ms(submit.p95)} / {ms(submit.p99)}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def latency_lines(minutes: Sequence[Window], prefix: str, dashed: bool = False) -> list[Line]:
    return [
        Line(f"{prefix} p{q}", [(w.start + 30, getattr(w, f"p{q}") * 1000) for w in minutes if w.count], dashed)
        for q in (50, 95, 99)
    ]


def svg(recording: Recording) -> str:
    # each life of a process drawn apart (a restart is a drop, not a line back down), one colour a slot
    memory = [Line(slot(name), [(t, v / MIB) for t, v in points]) for name, points in sorted(recording.memory.items())]
    latency = [
        *latency_lines(windows(recording.tasks, 60, recording.duration), "task"),
        *latency_lines(windows(recording.submits, 60, recording.duration), "submit", dashed=True),
    ]
    return plot(memory, latency, recording.duration, [t for t, _ in recording.faults])


def summary(recording: Recording, verdict: Verdict, settings: dict[str, Any]) -> dict[str, Any]:
    """The JSON docs/ keeps: settings, faults, counts, every memory sample, latency per minute, verdict."""

    def minute_rows(points: list[tuple[float, float]]) -> list[dict[str, float]]:
        return [
            {"minute": w.start / 60, "count": w.count, "p50": w.p50, "p95": w.p95, "p99": w.p99}
            for w in windows(points, 60, recording.duration)
        ]

    return {
        "settings": settings,
        "duration_s": recording.duration,
        "acknowledged": recording.acknowledged,
        "completed_seen": len(recording.tasks),
        "submit_errors": recording.submit_errors,
        "skipped_ticks": recording.skipped,
        "lagged_notices": recording.lagged,
        "aborted": recording.aborted,
        "faults": [{"at_s": round(t, 1), "what": what} for t, what in recording.faults],
        "memory": {name: [[round(t, 1), int(v)] for t, v in points] for name, points in recording.memory.items()},
        "latency_per_minute": {"task": minute_rows(recording.tasks), "submit": minute_rows(recording.submits)},
        "verdict": {"ok": verdict.ok, "lines": verdict.lines()},
    }
