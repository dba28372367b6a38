"""The soak's plot, as a small SVG written here: memory of each process over time above,
latency percentiles per minute below, the faults as dashed verticals on both. Our own ~100
lines rather than matplotlib: two line charts do not justify a plotting stack in the dev deps."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH, PANEL, TOP, LEFT, RIGHT, GAP = 960, 280, 30, 70, 200, 70
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]  # fmt: skip


@dataclass(frozen=True)
class Line:
    """One polyline; lines of one `label` (the lives of one process slot) share a colour and one
    legend entry, so a worker restarted five times is one entry, not six."""

    label: str
    points: Sequence[tuple[float, float]]  # (seconds into the run, value)
    dashed: bool = False


def nice_step(span: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 × 10ⁿ) giving about `ticks` ticks over `span`."""
    raw = span / ticks if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def panel(title: str, unit: str, lines: Sequence[Line], duration: float, faults: Sequence[float], y0: int) -> list[str]:
    lines = [line for line in lines if line.points]  # nothing recorded: no line, no legend entry
    values = [v for line in lines for _, v in line.points if math.isfinite(v)]
    top = max(values, default=1.0) * 1.08 or 1.0
    step = nice_step(top)
    top = math.ceil(top / step) * step
    plot_w = WIDTH - LEFT - RIGHT

    def x(t: float) -> float:
        return LEFT + plot_w * t / duration if duration else LEFT

    def y(v: float) -> float:
        return y0 + PANEL - PANEL * v / top

    out = [f'<text x="{LEFT}" y="{y0 - 10}" font-weight="bold">{escape(title)}</text>']
    out.append(f'<rect x="{LEFT}" y="{y0}" width="{plot_w}" height="{PANEL}" fill="none" stroke="#999"/>')
    for n in range(int(top / step) + 1):
        v = n * step
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
    out.append(f'<text x="14" y="{y0 + PANEL / 2}" transform="rotate(-90 14 {y0 + PANEL / 2})">{escape(unit)}</text>')
    minutes = duration / 60
    tick = nice_step(minutes, 10)
    for n in range(int(minutes / tick) + 1):
        t = n * tick * 60
        out.append(f'<text x="{x(t):.1f}" y="{y0 + PANEL + 16}" text-anchor="middle">{n * tick:g}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{y0 + PANEL + 34}" text-anchor="middle">minutes</text>')
    for t in faults:
        out.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y0}" y2="{y0 + PANEL}" stroke="#c00" stroke-dasharray="4 3"/>'
        )
    labels = list(dict.fromkeys(line.label for line in lines))
    for line in lines:
        n = labels.index(line.label)
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in line.points if math.isfinite(v))
        dash = ' stroke-dasharray="6 3"' if line.dashed else ""
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>')
    for n, label in enumerate(labels):
        colour = COLOURS[n % len(COLOURS)]
        dash = ' stroke-dasharray="6 3"' if next(line.dashed for line in lines if line.label == label) else ""
        ly = y0 + 14 + 16 * n
        out.append(f'<line x1="{WIDTH - RIGHT + 10}" x2="{WIDTH - RIGHT + 30}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')  # fmt: skip
        out.append(f'<text x="{WIDTH - RIGHT + 36}" y="{ly}">{escape(label)}</text>')
    return out


def plot(memory: Sequence[Line], latency: Sequence[Line], duration: float, faults: Sequence[float]) -> str:
    height = TOP + 2 * PANEL + GAP + 50
    body = [
        *panel("Memory (RSS per process, Redis used_memory)", "MiB", memory, duration, faults, TOP),
        *panel("Latency per minute", "ms", latency, duration, faults, TOP + PANEL + GAP),
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n'
        + "\n".join(body)
        + "\n</svg>\n"
    )
