"""Reading the queues' metric hashes (written by `_lib.lua`'s `announce`) into `TaskMetrics`."""

from typing import cast

from taskline.backends.redis.codec import text
from taskline.core.measures import COUNTERS, TIMINGS, WEBHOOK_OUTCOMES, Histogram, TaskMetrics, Timing


def metrics_from_hashes(hashes: dict[str, dict[bytes, bytes]]) -> TaskMetrics:
    """`hashes`: each queue's metrics hash. Fields: `<counter>|<type>`, `<timing>|<type>|<bucket
    from 1>`, `<timing>_ms|<type>`, `webhook|<outcome>`."""
    metrics = TaskMetrics()
    for queue, fields in hashes.items():
        for raw_field, raw_value in fields.items():
            kind, _, rest = text(raw_field).partition("|")
            value = int(raw_value)
            if kind in COUNTERS:
                metrics.count(kind, queue, rest, value)
            elif kind in TIMINGS:
                task_type, _, bucket = rest.rpartition("|")
                _histogram(metrics, kind, queue, task_type).counts[int(bucket) - 1] += value
            elif kind.endswith("_ms") and kind[:-3] in TIMINGS:
                _histogram(metrics, cast(Timing, kind[:-3]), queue, rest).sum_s += value / 1000
            elif kind == "webhook" and rest in WEBHOOK_OUTCOMES:
                metrics.webhooks[rest] = metrics.webhooks.get(rest, 0) + value
    return metrics


def _histogram(metrics: TaskMetrics, timing: Timing, queue: str, task_type: str) -> Histogram:
    return metrics.histograms.setdefault((timing, queue, task_type), Histogram())
