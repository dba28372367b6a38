"""Every metric `/metrics` exposes: its name, help text, labels and buckets, in one place.

Task figures are cluster-wide (kept by the backend, so every instance on one Redis reports
the same values); HTTP figures are per process.
"""

from dataclasses import dataclass

from taskline.core.measures import COUNTERS, DURATION_BUCKETS_S, Counter, Timing


@dataclass(frozen=True, slots=True)
class Instrument:
    name: str
    help: str
    labels: tuple[str, ...] = ()


TASK_LABELS = ("queue", "type")

TASK_COUNTERS: dict[Counter, Instrument] = {
    counter: Instrument(f"taskline_tasks_{counter}_total", help, TASK_LABELS)
    for counter, help in zip(
        COUNTERS,
        (
            "Tasks accepted by a submit.",
            "Tasks that completed.",
            "Tasks that failed for good (moved to the dead-letter queue).",
            "Failed attempts that were retried.",
            "Tasks that were cancelled.",
        ),
        strict=True,
    )
}

TASK_TIMINGS: dict[Timing, Instrument] = {
    "run": Instrument("taskline_task_run_seconds", "How long an attempt ran, start to end.", TASK_LABELS),
    "wait": Instrument("taskline_task_wait_seconds", "How long a task waited from due to started.", TASK_LABELS),
}
TASK_BUCKETS_S = DURATION_BUCKETS_S

QUEUE_DEPTH = Instrument(
    "taskline_queue_depth", "Pending tasks (ready to lease) by queue and priority.", ("queue", "priority")
)
QUEUE_TASKS = Instrument(
    "taskline_queue_tasks",
    "Tasks by queue and state; scheduled and retrying ones wait for their due time, "
    "pending ones are in taskline_queue_depth too.",
    ("queue", "state"),
)
QUEUE_PAUSED = Instrument("taskline_queue_paused", "1 if the queue is paused, else 0.", ("queue",))

WORKERS = Instrument("taskline_workers", "Workers seen in the last minute, by state.", ("state",))

WEBHOOK_DELIVERIES = Instrument(
    "taskline_webhook_deliveries_total", "Webhook delivery attempts by outcome.", ("outcome",)
)

EVENT_SUBSCRIBERS = Instrument("taskline_event_subscribers", "Live event streams (/ws) open on this process.")
EVENTS_READ = Instrument(
    "taskline_events_read_total", "Events this process read from the event log to fan out to its streams."
)
EVENTS_DROPPED = Instrument(
    "taskline_events_dropped_total",
    "Events this process dropped for streams that read too slowly (each such stream is sent `lagged`).",
)
EVENT_BUFFER_HIGH_WATER = Instrument(
    "taskline_event_buffer_high_water",
    "The most events one stream of this process ever held unsent; bounded by the per-stream buffer.",
)

HISTORY_ARCHIVED = Instrument(
    "taskline_history_archived_total",
    "Task ends this process copied to PostgreSQL history (with TASKLINE_POSTGRES_URL).",
)
HISTORY_SET_ASIDE = Instrument(
    "taskline_history_set_aside_total",
    "Task ends this process's archiver dropped from the outbox unarchived: unreadable, or refused by PostgreSQL "
    "(each is logged with its task id).",
)
HISTORY_OUTBOX_DEPTH = Instrument(
    "taskline_history_outbox_depth", "Task ends waiting in the backend's archive outbox to reach PostgreSQL history."
)
HISTORY_OUTBOX_LAG = Instrument(
    "taskline_history_outbox_lag_seconds",
    "How long the oldest task end in the archive outbox has waited (0 when it is empty).",
)

INFO = Instrument("taskline_info", "Always 1; the server's version and backend as labels.", ("version", "backend"))

HTTP_REQUESTS = Instrument(
    "taskline_http_requests_total",
    "HTTP requests this process answered, by route template, method and status.",
    ("route", "method", "status"),
)
HTTP_SECONDS = Instrument(
    "taskline_http_request_seconds",
    "How long this process took to answer, by route template and method.",
    ("route", "method"),
)
HTTP_BUCKETS_S: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
"""Finer than the task buckets: most answers take a millisecond; long polls take up to 60 s."""

UNMATCHED_ROUTE = "<unmatched>"
"""The route label of a request no route matched (an unknown path, or one the limits answered
before routing), so made-up paths cannot create new series."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
"""The method label of any other method, for the same reason."""
