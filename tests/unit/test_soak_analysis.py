"""The soak's verdicts (bench/soak/analysis.py): flat memory passes, a leak fails, start-up growth
is warm-up, a too-short life is not judged; a latency drift fails and noise within the slack passes;
and the report's table and plot come out of a recording."""

import math

import pytest
from bench.soak.analysis import MIB, Thresholds, drift_verdict, memory_verdict, percentile, slope, verdict, windows
from bench.soak.report import svg, table
from bench.soak.run import USED_MEMORY, Recording, schedule

HOUR = 3600.0


def series(
    value: float, *, every_s: float = 10, span_s: float = HOUR, growth_per_s: float = 0.0
) -> list[tuple[float, float]]:
    return [(t, value + growth_per_s * t) for t in (n * every_s for n in range(int(span_s / every_s)))]


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7
    assert math.isnan(percentile([], 50))


def test_slope_of_a_line_and_of_too_little() -> None:
    assert slope([(0, 1), (1, 3), (2, 5)]) == pytest.approx(2)
    assert slope([(5, 1)]) == 0
    assert slope([(5, 1), (5, 2)]) == 0


def test_flat_memory_with_a_sawtooth_passes() -> None:
    # retention trims once a minute: the store rises and falls by a few MiB, and goes nowhere
    samples = [(t, 40 * MIB + (t % 60) / 60 * 3 * MIB) for t, _ in series(0)]
    judged = memory_verdict("redis used_memory", samples, Thresholds())
    assert judged.judged
    assert judged.flat
    assert abs(judged.growth) < 0.5 * MIB


def test_a_leak_fails() -> None:
    # 100 tasks/s leaking 50 bytes each: 18 MiB an hour on an 80 MiB process
    judged = memory_verdict("serve", series(80 * MIB, growth_per_s=100 * 50), Thresholds())
    assert judged.judged
    assert not judged.flat
    assert judged.growth == pytest.approx(100 * 50 * (HOUR * 0.75 - 10), rel=0.02)


def test_growth_within_the_allowance_is_flat() -> None:
    # 3 MiB over the judged span of an 80 MiB process: under 5 % (4 MiB)
    judged = memory_verdict("serve", series(80 * MIB, growth_per_s=3 * MIB / (HOUR * 0.75)), Thresholds())
    assert judged.flat
    assert judged.allowed == pytest.approx(0.05 * judged.mean)


def test_small_series_get_the_absolute_allowance() -> None:
    judged = memory_verdict("redis used_memory", series(4 * MIB, growth_per_s=1.5 * MIB / HOUR), Thresholds())
    assert judged.allowed == 2 * MIB
    assert judged.flat


def test_start_up_growth_is_warm_up_not_a_leak() -> None:
    # RSS climbs for the first minutes of a life (imports, pools, caches), then holds
    samples = [(t, 30 * MIB + min(t, 600) / 600 * 40 * MIB) for t, _ in series(0)]
    assert memory_verdict("worker-0-http", samples, Thresholds()).flat


def test_a_process_judged_from_its_own_start() -> None:
    # a worker restarted 50 minutes in: its first minute (and quarter) are its warm-up, not the run's
    samples = [(3000 + t, 30 * MIB + min(t, 50) / 50 * 35 * MIB) for t, _ in series(0, span_s=600)]
    judged = memory_verdict("worker-2-http#3", samples, Thresholds())
    assert judged.judged
    assert judged.flat


def test_a_life_too_short_is_not_judged() -> None:
    judged = memory_verdict("worker-2-http#2", [(0, 1 * MIB), (10, 50 * MIB), (20, 90 * MIB)], Thresholds())
    assert not judged.judged
    assert judged.flat  # reported, but neither pass nor fail of the run


def test_latency_drift_fails_and_noise_passes() -> None:
    steady = [(t, 0.020) for t in range(0, 3600)]
    assert drift_verdict("task", steady, HOUR, Thresholds()).ok
    # p99 from 20 ms to 40 ms: within the 25 ms slack, noise on a shared machine
    noisy = [(t, 0.020 if t < 2700 else 0.040) for t in range(3600)]
    assert drift_verdict("task", noisy, HOUR, Thresholds()).ok
    # from 20 ms to 200 ms in the last quarter: drift
    drifting = [(t, 0.020 if t < 2700 else 0.200) for t in range(3600)]
    judged = drift_verdict("task", drifting, HOUR, Thresholds())
    assert not judged.ok
    assert judged.first_p99 == pytest.approx(0.020)
    assert judged.last_p99 == pytest.approx(0.200)


def test_a_quarter_without_latencies_fails() -> None:
    # nothing completed in the last quarter (a stalled deployment) is no evidence of "no drift"
    assert not drift_verdict("task", [(t, 0.01) for t in range(900)], HOUR, Thresholds()).ok


def test_one_growing_series_fails_the_run() -> None:
    judged = verdict(
        {"serve": series(80 * MIB), "worker-0-http": series(60 * MIB, growth_per_s=2000)},
        {"task": [(t, 0.02) for t in range(3600)]},
        HOUR,
    )
    assert not judged.ok
    assert any("GROWING" in line for line in judged.lines())
    assert judged.lines()[-1] == "verdict: FAIL"


def test_windows_bucket_by_time() -> None:
    points = [(t / 10, 0.001 * (t % 100)) for t in range(1200)]  # 2 minutes, 10 a second
    minutes = windows(points, 60, 120)
    assert [w.count for w in minutes] == [600, 600]
    assert minutes[0].p50 == pytest.approx(0.049)
    assert minutes[1].p99 == pytest.approx(0.098)


def test_the_fault_schedule_spares_the_witnesses() -> None:
    faults = schedule(HOUR, 4)
    assert [round(f.at) for f in faults] == [600, 1080, 1200, 1800, 2400, 3000]
    kills = [f.what for f in faults if "worker" in f.what]
    assert kills == [f"kill -9 and restart worker-{n}" for n in (2, 3, 2, 3, 2)]
    assert sum("serve" in f.what for f in faults) == 1


def test_a_recording_becomes_a_table_and_a_plot() -> None:
    recording = Recording(
        duration=600,
        memory={"serve": series(80 * MIB, span_s=600), USED_MEMORY: series(5 * MIB, span_s=600)},
        submits=[(t / 10, 0.005) for t in range(6000)],
        tasks=[(t / 10, 0.030) for t in range(6000)],
        faults=[(180.0, "kill -9 and restart taskline serve")],
    )
    rows = table(recording).splitlines()
    assert rows[0].startswith("| minutes | serve MiB | redis used_memory MiB |")
    assert rows[2].startswith("| 0–5 | 80.0 | 5.0 | 3,000 | 30.0 / 30.0 / 30.0 | 5.0 / 5.0 / 5.0 |")
    assert len(rows) == 4
    drawn = svg(recording)
    assert drawn.startswith("<svg")
    assert drawn.count("<polyline") == 2 + 6  # two memory series, three percentiles of two latencies


def test_the_lives_of_a_process_share_one_legend_entry() -> None:
    recording = Recording(
        duration=1200,
        memory={
            "worker-2-http": series(60 * MIB, span_s=600),
            "worker-2-http#2": [(600 + t, v) for t, v in series(60 * MIB, span_s=600)],
        },
    )
    drawn = svg(recording)
    assert drawn.count("<polyline") == 2  # drawn apart: a restart is a drop, not a line back down
    assert drawn.count(">worker-2-http</text>") == 1
    assert "#2" not in drawn
