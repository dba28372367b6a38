"""HTTP request metrics of this process, counted by a pure ASGI middleware.

Plain dicts rather than prometheus-client's instruments: the event loop is one thread, so
a request costs two dict updates and a bisect, with no lock; `collector` renders them.
"""

import bisect
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskline.metrics.instruments import HTTP_BUCKETS_S, METHODS, OTHER_METHOD, UNMATCHED_ROUTE


@dataclass(slots=True)
class Timings:
    """One histogram: a count per bucket (not cumulative; the last is past every bound) and a sum."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(HTTP_BUCKETS_S) + 1))
    sum_s: float = 0.0


@dataclass(slots=True)
class HttpMeter:
    """Requests by (route, method, status) and their durations by (route, method)."""

    requests: dict[tuple[str, str, int], int] = field(default_factory=dict)
    seconds: dict[tuple[str, str], Timings] = field(default_factory=dict)

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        timings = self.seconds.get((route, method))
        if timings is None:
            timings = self.seconds[(route, method)] = Timings()
        timings.counts[bisect.bisect_left(HTTP_BUCKETS_S, seconds)] += 1  # first bound >= seconds
        timings.sum_s += seconds


class HttpMetrics:
    """Counts every HTTP request by its route template (`/api/v1/tasks/{task_id}`), so ids do
    not become series; requests no route matched count under `<unmatched>`.

    Placed outermost, so answers of the limits (413, 429) and CORS preflights count too; an
    exception that escapes the app counts as 500, which the server then answers.
    """

    def __init__(self, app: ASGIApp, meter: HttpMeter) -> None:
        self.app = app
        self.meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The router writes the matched route into the scope it was handed (this one).
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
            self.meter.record(route, method, status, time.perf_counter() - started)
