"""Prometheus metric families from one snapshot of Taskline's figures.

The backend is async and a Collector's `collect()` is not, so the route first awaits a
`Snapshot` and then renders it through a `SnapshotCollector` built for that one scrape: no
registry is shared between scrapes or apps, and every value in one scrape is of one moment.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from taskline.core.measures import WEBHOOK_OUTCOMES, TaskMetrics
from taskline.core.task import QueueStats
from taskline.core.workers import WorkerRecord, WorkerState
from taskline.events.hub import HubStats
from taskline.metrics import instruments as m
from taskline.metrics.http import HttpMeter
from taskline.wire import PRIORITY_NAMES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic Prometheus text format, which every scraper reads."""

_QUEUE_STATES = ("pending", "scheduled", "running", "retrying", "failed", "completed", "cancelled")


@dataclass(frozen=True, slots=True)
class HistoryFigures:
    """PostgreSQL history's figures: this process's archived count, and the outbox (cluster-wide)."""

    archived: int
    outbox_depth: int
    outbox_lag_s: float
    set_aside: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one scrape reports: the backend's figures (cluster-wide) and this process's HTTP and
    event-stream ones."""

    tasks: TaskMetrics
    queues: Sequence[QueueStats]
    workers: Sequence[WorkerRecord]
    http: HttpMeter
    events: HubStats
    version: str
    backend: str
    history: HistoryFigures | None = None  # None: history is off, its metrics are not shown


class SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        yield from self._info()
        yield from self._task_counters()
        yield from self._task_histograms()
        yield from self._queues()
        yield from self._workers()
        yield from self._webhooks()
        yield from self._http()
        yield from self._event_streams()
        yield from self._history()

    def _info(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(m.INFO.name, m.INFO.help, labels=m.INFO.labels)
        info.add_metric([self.snapshot.version, self.snapshot.backend], 1)
        yield info

    def _task_counters(self) -> Iterator[Metric]:
        counters = self.snapshot.tasks.counters
        for counter, instrument in m.TASK_COUNTERS.items():
            family = CounterMetricFamily(instrument.name, instrument.help, labels=instrument.labels)
            for (name, queue, task_type), value in sorted(counters.items()):
                if name == counter:
                    family.add_metric([queue, task_type], value)
            yield family

    def _task_histograms(self) -> Iterator[Metric]:
        histograms = self.snapshot.tasks.histograms
        for timing, instrument in m.TASK_TIMINGS.items():
            family = HistogramMetricFamily(instrument.name, instrument.help, labels=instrument.labels)
            for (name, queue, task_type), histogram in sorted(histograms.items(), key=lambda item: item[0]):
                if name == timing:
                    family.add_metric(
                        [queue, task_type], cumulative(histogram.counts, m.TASK_BUCKETS_S), histogram.sum_s
                    )
            yield family

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(m.QUEUE_DEPTH.name, m.QUEUE_DEPTH.help, labels=m.QUEUE_DEPTH.labels)
        tasks = GaugeMetricFamily(m.QUEUE_TASKS.name, m.QUEUE_TASKS.help, labels=m.QUEUE_TASKS.labels)
        paused = GaugeMetricFamily(m.QUEUE_PAUSED.name, m.QUEUE_PAUSED.help, labels=m.QUEUE_PAUSED.labels)
        for queue in sorted(self.snapshot.queues, key=lambda q: q.name):
            for priority, count in zip(PRIORITY_NAMES, queue.pending, strict=True):
                depth.add_metric([queue.name, priority], count)
            for state in _QUEUE_STATES:
                count = sum(queue.pending) if state == "pending" else getattr(queue, state)
                tasks.add_metric([queue.name, state], count)
            paused.add_metric([queue.name], int(queue.paused))
        yield from (depth, tasks, paused)

    def _workers(self) -> Iterator[Metric]:
        workers = GaugeMetricFamily(m.WORKERS.name, m.WORKERS.help, labels=m.WORKERS.labels)
        for state in WorkerState:  # both always present, so a dashboard shows 0 rather than nothing
            workers.add_metric([state.value], sum(1 for w in self.snapshot.workers if w.state is state))
        yield workers

    def _webhooks(self) -> Iterator[Metric]:
        instrument = m.WEBHOOK_DELIVERIES
        family = CounterMetricFamily(instrument.name, instrument.help, labels=instrument.labels)
        for outcome in WEBHOOK_OUTCOMES:
            family.add_metric([outcome], self.snapshot.tasks.webhooks.get(outcome, 0))
        yield family

    def _http(self) -> Iterator[Metric]:
        meter = self.snapshot.http
        requests = CounterMetricFamily(m.HTTP_REQUESTS.name, m.HTTP_REQUESTS.help, labels=m.HTTP_REQUESTS.labels)
        for (route, method, status), count in sorted(meter.requests.items()):
            requests.add_metric([route, method, str(status)], count)
        seconds = HistogramMetricFamily(m.HTTP_SECONDS.name, m.HTTP_SECONDS.help, labels=m.HTTP_SECONDS.labels)
        for (route, method), timings in sorted(meter.seconds.items(), key=lambda item: item[0]):
            seconds.add_metric([route, method], cumulative(timings.counts, m.HTTP_BUCKETS_S), timings.sum_s)
        yield from (requests, seconds)

    def _event_streams(self) -> Iterator[Metric]:
        events = self.snapshot.events
        yield GaugeMetricFamily(m.EVENT_SUBSCRIBERS.name, m.EVENT_SUBSCRIBERS.help, value=events.subscribers)
        yield CounterMetricFamily(m.EVENTS_READ.name, m.EVENTS_READ.help, value=events.read)
        yield CounterMetricFamily(m.EVENTS_DROPPED.name, m.EVENTS_DROPPED.help, value=events.dropped)
        buffer = m.EVENT_BUFFER_HIGH_WATER
        yield GaugeMetricFamily(buffer.name, buffer.help, value=events.largest_buffer)

    def _history(self) -> Iterator[Metric]:
        history = self.snapshot.history
        if history is None:
            return
        yield CounterMetricFamily(m.HISTORY_ARCHIVED.name, m.HISTORY_ARCHIVED.help, value=history.archived)
        yield CounterMetricFamily(m.HISTORY_SET_ASIDE.name, m.HISTORY_SET_ASIDE.help, value=history.set_aside)
        depth, lag = m.HISTORY_OUTBOX_DEPTH, m.HISTORY_OUTBOX_LAG
        yield GaugeMetricFamily(depth.name, depth.help, value=history.outbox_depth)
        yield GaugeMetricFamily(lag.name, lag.help, value=history.outbox_lag_s)


def cumulative(counts: Sequence[int], bounds: Sequence[float]) -> list[tuple[str, float]]:
    """Per-bucket counts (the last past every bound) as Prometheus buckets: each `le` counts
    everything at or below it, and `+Inf` is the total."""
    buckets: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip([*bounds, float("inf")], counts, strict=True):
        running += count
        buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)), running))
    return buckets


def render(snapshot: Snapshot) -> bytes:
    """The Prometheus text exposition of `snapshot`."""
    return generate_latest(SnapshotCollector(snapshot))
