"""Per-minute figures from samples (core.series) and the samples' own form (core.samples)."""

import pytest

from taskline.core.measures import DURATION_BUCKETS_S, Histogram, TaskMetrics, bucket_of
from taskline.core.samples import MINUTE_S, Totals, decode, decode_each, encode, minute_of, oldest_kept, totals_of
from taskline.core.series import Durations, difference, durations, quantile, series

NOW_MINUTE = 30_000_000


def totals(submitted: int = 0, completed: int = 0, failed: int = 0, **timings: list[float]) -> Totals:
    """Totals with these counters and, per timing (`run`, `wait`), these observations."""
    made = Totals()
    made.counters.update(submitted=submitted, completed=completed, failed=failed)
    for timing, observed in timings.items():
        for seconds in observed:
            made.histograms[timing].observe(seconds)  # type: ignore[index]
    return made


def test_totals_sum_every_queue_and_type() -> None:
    metrics = TaskMetrics()
    metrics.count("completed", "q1", "a", 2)
    metrics.count("completed", "q2", "b", 3)
    metrics.count("failed", "q1", "a")
    metrics.observe("run", "q1", "a", 0.2)
    metrics.observe("run", "q2", "b", 7.0)

    summed = totals_of(metrics)

    assert summed.counters == {"submitted": 0, "completed": 5, "failed": 1, "retried": 0, "cancelled": 0}
    assert sum(summed.histograms["run"].counts) == 2
    assert summed.histograms["run"].sum_s == pytest.approx(7.2)
    assert sum(summed.histograms["wait"].counts) == 0


def test_a_sample_reads_back_as_written_and_a_foreign_one_is_refused() -> None:
    sample = totals(submitted=4, completed=3, run=[0.1, 2.0], wait=[0.5])

    assert decode(encode(sample)) == sample
    with pytest.raises(ValueError, match="buckets"):
        decode(encode(sample).replace('"counts":[', '"counts":[0,'))
    with pytest.raises(ValueError, match="not a sample"):
        decode(b'{"counters": {}}')


def test_read_samples_leave_out_missing_and_foreign_minutes(caplog: pytest.LogCaptureFixture) -> None:
    sample = totals(completed=2)

    read = decode_each([(1, encode(sample)), (2, None), (3, b"not json"), (4, encode(sample).encode())])

    assert read == {1: sample, 4: sample}
    assert "skipping the sample of minute 3" in caplog.text


def test_minutes_are_counted_from_the_epoch_and_a_day_is_kept() -> None:
    assert minute_of(NOW_MINUTE * MINUTE_S + 59.999) == NOW_MINUTE
    assert minute_of(NOW_MINUTE * MINUTE_S) == NOW_MINUTE
    assert NOW_MINUTE - oldest_kept(NOW_MINUTE) + 1 == 1440


def test_a_difference_is_what_was_added() -> None:
    earlier = totals(submitted=5, completed=2, run=[0.1], wait=[1.0])
    later = totals(submitted=9, completed=5, run=[0.1, 0.2, 0.3], wait=[1.0, 2.0])

    added = difference(earlier, later)

    assert (added.counters["submitted"], added.counters["completed"], added.counters["failed"]) == (4, 3, 0)
    assert sum(added.histograms["run"].counts) == 2
    assert added.histograms["run"].sum_s == pytest.approx(0.5)
    assert added.histograms["wait"].counts[bucket_of(2.0)] == 1


def test_a_counter_that_went_down_is_a_reset_and_the_new_totals_are_the_minute() -> None:
    before_restart = totals(submitted=50, completed=40, run=[1.0] * 40)
    after_restart = totals(submitted=60, completed=3, run=[1.0] * 3)  # submitted alone looks like +10

    added = difference(before_restart, after_restart)

    assert added == after_restart


def test_a_bucket_that_went_down_is_a_reset_too() -> None:
    earlier = totals(completed=5, run=[0.1, 0.1])
    later = totals(completed=6, run=[5.0, 5.0, 5.0])  # counters grew, the 0.1 s bucket shrank

    assert difference(earlier, later) == later


def test_percentiles_interpolate_within_the_bucket() -> None:
    histogram = Histogram()
    for _ in range(10):
        histogram.observe(0.2)  # all in (0.1, 0.25]

    assert quantile(histogram, 0.5) == pytest.approx(0.1 + 0.15 * 0.5)
    assert quantile(histogram, 0.95) == pytest.approx(0.1 + 0.15 * 0.95)
    assert quantile(Histogram(), 0.5) is None


def test_percentiles_across_buckets_and_beyond_the_last() -> None:
    histogram = Histogram()
    for seconds in [0.001] * 50 + [7200.0] * 50:
        histogram.observe(seconds)

    assert quantile(histogram, 0.5) == pytest.approx(0.005)  # the top of the first bucket
    assert quantile(histogram, 0.95) == DURATION_BUCKETS_S[-1]  # unbounded: its lower bound


def test_durations_give_count_mean_and_percentiles_or_nothing() -> None:
    histogram = Histogram()
    for seconds in (1.0, 2.0, 3.0):
        histogram.observe(seconds)

    figures = durations(histogram)

    assert (figures.count, figures.avg) == (3, 2.0)
    assert figures.p50 is not None
    assert 1.0 <= figures.p50 <= 2.5
    assert durations(Histogram()) == Durations(0, None, None, None)


def test_a_series_has_exactly_the_minutes_asked_for_oldest_first() -> None:
    minutes = series({}, Totals(), now_minute=NOW_MINUTE, minutes=5)

    assert [m.start for m in minutes] == [(NOW_MINUTE - 4 + i) * MINUTE_S for i in range(5)]


def test_each_minute_runs_from_its_sample_to_the_next_and_the_current_one_to_now() -> None:
    samples = {
        NOW_MINUTE - 2: totals(submitted=1),
        NOW_MINUTE - 1: totals(submitted=4, completed=1, run=[0.3]),
        NOW_MINUTE: totals(submitted=4, completed=2, run=[0.3, 0.3]),
    }
    live = totals(submitted=6, completed=2, run=[0.3, 0.3])

    minutes = series(samples, live, now_minute=NOW_MINUTE, minutes=4)

    assert [m.counts and m.counts["submitted"] for m in minutes] == [None, 3, 0, 2]
    assert [m.counts and m.counts["completed"] for m in minutes] == [None, 1, 1, 0]
    assert minutes[0].durations is None
    assert minutes[1].durations is not None
    assert minutes[1].durations["run"].count == 1
    assert minutes[1].durations["run"].avg == pytest.approx(0.3)
    assert minutes[3].durations is not None
    assert minutes[3].durations["run"] == Durations(0, None, None, None)


def test_a_minute_without_a_sample_on_either_side_is_unknown_not_zero() -> None:
    samples = {NOW_MINUTE - 3: totals(), NOW_MINUTE - 1: totals(submitted=2), NOW_MINUTE: totals(submitted=2)}

    minutes = series(samples, totals(submitted=2), now_minute=NOW_MINUTE, minutes=4)

    assert [m.counts is None for m in minutes] == [True, True, False, False]  # gap at NOW_MINUTE - 2


def test_until_the_current_minute_is_sampled_the_previous_one_runs_to_now() -> None:
    samples = {NOW_MINUTE - 1: totals(submitted=1)}

    previous, current = series(samples, totals(submitted=4), now_minute=NOW_MINUTE, minutes=2)

    assert previous.counts is not None
    assert previous.counts["submitted"] == 3
    assert current.counts is not None
    assert current.counts["submitted"] == 0
