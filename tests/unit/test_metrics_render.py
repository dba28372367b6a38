"""The exporter's arithmetic: per-bucket counts become Prometheus's cumulative buckets, and a
request lands in the first bucket whose bound holds it."""

from taskline.metrics.collector import cumulative
from taskline.metrics.http import HttpMeter
from taskline.metrics.instruments import HTTP_BUCKETS_S


def test_cumulative_buckets_end_with_the_total_at_inf() -> None:
    assert cumulative([1, 0, 2, 3], [0.1, 1.0, 10.0]) == [("0.1", 1), ("1.0", 1), ("10.0", 3), ("+Inf", 6)]


def test_a_request_on_a_bound_counts_in_that_bucket_and_past_the_last_in_the_extra_one() -> None:
    meter = HttpMeter()

    meter.record("/r", "GET", 200, HTTP_BUCKETS_S[0])
    meter.record("/r", "GET", 500, HTTP_BUCKETS_S[-1] + 1)

    timings = meter.seconds[("/r", "GET")]
    assert (timings.counts[0], timings.counts[-1], sum(timings.counts)) == (1, 1, 2)
    assert meter.requests == {("/r", "GET", 200): 1, ("/r", "GET", 500): 1}
