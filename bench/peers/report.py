"""The table: each figure the median of the runs, each with its ratio to Taskline's.

A ratio is the peer's figure divided by Taskline's: above 1 the peer enqueues or drains
faster, or uses more memory or waits longer, than Taskline.
"""

import statistics
from dataclasses import dataclass, field

from bench.peers.measure import Figures

BASELINE = "taskline"
COLUMNS = (  # attribute, heading, format
    ("enqueue_per_s", "enqueue jobs/s", "{:,.0f}"),
    ("bytes_per_job", "Redis B/job", "{:,.0f}"),
    ("drain_per_s", "drain jobs/s", "{:,.0f}"),
    ("p50_ms", "p50 ms", "{:,.1f}"),
    ("p99_ms", "p99 ms", "{:,.1f}"),
)


@dataclass
class Summary:
    """A peer's runs folded into one row."""

    name: str
    setup: str
    medians: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def summarize(name: str, setup: str, runs: list[Figures]) -> Summary:
    summary = Summary(name, setup)
    for attribute, _, _ in COLUMNS:
        values = [value for run in runs if (value := getattr(run, attribute)) is not None]
        summary.medians[attribute] = statistics.median(values) if values else None
    for run in runs:
        for note in ([run.error] if run.error else []) + run.notes:
            if note not in summary.notes:
                summary.notes.append(note)
    return summary


def render(summaries: list[Summary], *, jobs: int, repeat: int, rate: float, seconds: float) -> str:
    baseline = next((s for s in summaries if s.name == BASELINE), None)
    header = ["peer", *(heading for _, heading, _ in COLUMNS)]
    rows = [header]
    for summary in summaries:
        rows.append([summary.name, *(_cell(summary, baseline, attribute, fmt) for attribute, _, fmt in COLUMNS)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        f"{jobs:,} no-op jobs, median of {repeat} run(s); latency at {rate:.0f} jobs/s for {seconds:.0f} s; "
        f"(×) = peer ÷ {BASELINE}",
        "",
    ]
    lines.append(_join(rows[0], widths))
    lines.append("  ".join("-" * width for width in widths))
    lines += [_join(row, widths) for row in rows[1:]]
    lines.append("")
    for summary in summaries:
        lines.append(f"{summary.name}: {summary.setup}")
        lines += [f"    ! {note}" for note in summary.notes]
    return "\n".join(lines)


def _join(row: list[str], widths: list[int]) -> str:
    """The peer's name flush left, figures flush right."""
    cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
    return "  ".join(cells)


def _cell(summary: Summary, baseline: Summary | None, attribute: str, fmt: str) -> str:
    value = summary.medians.get(attribute)
    if value is None:
        return "—"
    text = fmt.format(value)
    reference = baseline.medians.get(attribute) if baseline is not None and baseline is not summary else None
    return f"{text} ({value / reference:.2f}×)" if reference else text
