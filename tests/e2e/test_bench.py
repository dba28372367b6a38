"""`taskline bench` against a live server: the report's shape, and counts that add up."""

import json
from pathlib import Path

from tests.e2e.test_serve import taskline
from tests.helpers.live import live_server
from tests.helpers.proxy import cuttable_proxy


def test_smoke_submits_drains_and_reports(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        run = taskline("bench", "smoke", "--tasks", "12", "--json", cwd=tmp_path, TASKLINE_SERVER=server.url)
        with server.client() as http:
            stats = http.get("/api/v1/stats").json()

    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert (report["profile"], report["submitted"], report["errors"]) == ("smoke", 12, {})
    assert report["drain"]["completed"] == 12
    latency = report["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["p100"]
    assert report["throughput_rps"] > 0
    assert [phase["submitted"] for phase in report["phases"]] == [12]
    assert (stats["states"]["completed"], stats["total"]) == (12, 12)


def test_smoke_fails_when_the_server_refuses(tmp_path: Path) -> None:
    with live_server(tmp_path, api_keys="p:producer") as server:
        run = taskline("bench", "smoke", "--tasks", "3", cwd=tmp_path, TASKLINE_SERVER=server.url, TASKLINE_API_KEY="p")

    assert run.returncode == 1
    assert "forbidden" in run.stderr  # a producer may submit but not drain


def test_stress_reports_each_step(tmp_path: Path) -> None:
    with live_server(tmp_path) as server:
        run = taskline(
            "bench", "stress", "--concurrency", "4", "--steps", "2", "--duration", "1", "--json",
            cwd=tmp_path, TASKLINE_SERVER=server.url,
        )  # fmt: skip

    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert [phase["concurrency"] for phase in report["phases"]] == [2, 4]
    assert report["submitted"] == sum(phase["submitted"] for phase in report["phases"]) > 0
    assert report["drain"]["completed"] == report["submitted"]


def test_stress_opens_as_many_connections_as_its_concurrency(tmp_path: Path) -> None:
    # Above the client's default pool of 100: each submitting coroutine has its own connection.
    with live_server(tmp_path) as server, cuttable_proxy(server.port) as proxy:
        run = taskline(
            "bench", "stress", "--concurrency", "120", "--steps", "1", "--duration", "1", "--no-drain", "--json",
            cwd=tmp_path, TASKLINE_SERVER=proxy.url,
        )  # fmt: skip

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["errors"] == {}
    assert proxy.most_open == 120
