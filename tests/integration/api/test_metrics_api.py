"""`GET /metrics` (SPEC §3 "Other"): Prometheus text whose task figures are what happened over
HTTP, cluster-wide on Redis, and whose HTTP figures count this process's requests by route
template. Every assertion filters by the test's own queues, as tests share a server."""

import math
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from taskline.core.measures import DURATION_BUCKETS_S
from tests.helpers.live import live_server, wait_until, worker_process
from tests.integration.api.conftest import StartServer

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: httpx.Client) -> Series:
    """Every sample of /metrics by (sample name, labels)."""
    response = http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float:
    """One sample's value; 0 for a series not (yet) there, as Prometheus reads a missing counter."""
    return series.get((name, frozenset(labels.items())), 0.0)


def labelled(series: Series, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of `name` whose labels include `labels`."""
    return {key: v for (sample, key), v in series.items() if sample == name and frozenset(labels.items()) <= key}


def submit(http: httpx.Client, queue: str, task_type: str, n: int, **spec: Any) -> list[str]:
    body = [{"type": task_type, "queue": queue, "payload": {"i": i}, **spec} for i in range(n)]
    response = http.post("/api/v1/tasks/bulk", json=body)
    assert response.status_code == 201, response.text
    return [item["id"] for item in response.json()["tasks"]]


def lease(http: httpx.Client, queue: str, task_type: str, n: int) -> list[dict[str, Any]]:
    response = http.get(
        "/api/v1/poll", params={"worker_id": f"metrics-{queue}", "queues": queue, "types": task_type, "max": n}
    )
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()["tasks"]
    assert len(tasks) == n
    return tasks


def finish(http: httpx.Client, task: dict[str, Any], outcome: str, **body: Any) -> None:
    response = http.post(f"/api/v1/tasks/{task['id']}/{outcome}", json={"token": task["lease"]["token"], **body})
    assert response.status_code == 200, response.text


def assert_histogram(series: Series, name: str, count: int, **labels: str) -> None:
    """`count` observations, in cumulative buckets (never decreasing, `+Inf` = count) over the
    SPEC's bounds, with a sum that is a duration."""
    buckets = {dict(key)["le"]: v for key, v in labelled(series, f"{name}_bucket", **labels).items()}
    bounds = [repr(bound) for bound in DURATION_BUCKETS_S] + ["+Inf"]
    assert sorted(buckets, key=float) == sorted(bounds, key=float)
    ordered = [buckets[bound] for bound in sorted(buckets, key=float)]
    assert ordered == sorted(ordered)
    assert buckets["+Inf"] == value(series, f"{name}_count", **labels) == count
    total = value(series, f"{name}_sum", **labels)
    assert total >= 0
    assert math.isfinite(total)


def test_task_metrics_count_what_was_done_over_http(http: httpx.Client, queue: str) -> None:
    other = f"{queue}-b"
    alphas = submit(http, queue, "alpha", 4, max_retries=3)
    submit(http, queue, "beta", 2, priority="high")
    submit(http, other, "alpha", 1, priority="critical")
    submit(http, other, "alpha", 2, priority="low")
    done, retried, dead = lease(http, queue, "alpha", 3)
    finish(http, done, "complete", result=1)
    finish(http, retried, "fail", error="again", retry_after=3600)  # stays retrying through the test
    finish(http, dead, "fail", error="never", retry=False)
    (left,) = set(alphas) - {done["id"], retried["id"], dead["id"]}
    assert http.delete(f"/api/v1/tasks/{left}").status_code == 200
    (critical,) = lease(http, other, "alpha", 1)
    finish(http, critical, "complete")

    series = scrape(http)

    expected = {
        ("submitted", queue, "alpha"): 4,
        ("submitted", queue, "beta"): 2,
        ("submitted", other, "alpha"): 3,
        ("completed", queue, "alpha"): 1,
        ("completed", other, "alpha"): 1,
        ("retried", queue, "alpha"): 1,
        ("failed", queue, "alpha"): 1,
        ("cancelled", queue, "alpha"): 1,
    }
    for counter in ("submitted", "completed", "failed", "retried", "cancelled"):
        for q in (queue, other):
            for task_type in ("alpha", "beta"):
                got = value(series, f"taskline_tasks_{counter}_total", queue=q, type=task_type)
                assert got == expected.get((counter, q, task_type), 0), (counter, q, task_type)
    # Three alpha attempts ended in `queue` and one in `other`; as many started (waited).
    assert_histogram(series, "taskline_task_run_seconds", 3, queue=queue, type="alpha")
    assert_histogram(series, "taskline_task_wait_seconds", 3, queue=queue, type="alpha")
    assert_histogram(series, "taskline_task_run_seconds", 1, queue=other, type="alpha")
    assert labelled(series, "taskline_task_run_seconds_count", queue=queue, type="beta") == {}
    depth = {
        (q, priority): value(series, "taskline_queue_depth", queue=q, priority=priority)
        for q in (queue, other)
        for priority in ("low", "normal", "high", "critical")
    }
    assert depth == {
        (queue, "low"): 0, (queue, "normal"): 0, (queue, "high"): 2, (queue, "critical"): 0,
        (other, "low"): 2, (other, "normal"): 0, (other, "high"): 0, (other, "critical"): 0,
    }  # fmt: skip
    states = {dict(key)["state"]: v for key, v in labelled(series, "taskline_queue_tasks", queue=queue).items()}
    assert states == {
        "pending": 2, "scheduled": 0, "running": 0, "retrying": 1, "failed": 1, "completed": 1, "cancelled": 1,
    }  # fmt: skip
    assert value(series, "taskline_queue_paused", queue=queue) == 0
    outcomes = {dict(key)["outcome"] for key in labelled(series, "taskline_webhook_deliveries_total")}
    assert outcomes == {"delivered", "retried", "failed"}


def test_the_workers_gauge_follows_heartbeats_and_pauses(http: httpx.Client, queue: str) -> None:
    worker_id = f"gauge-{queue}"
    before = scrape(http)

    assert http.post(f"/api/v1/workers/{worker_id}/heartbeat", json={"queues": [queue]}).status_code == 200
    joined = scrape(http)
    assert http.post(f"/admin/workers/{worker_id}/pause").status_code == 200
    paused = scrape(http)

    def workers(series: Series) -> tuple[float, float]:
        return value(series, "taskline_workers", state="active"), value(series, "taskline_workers", state="paused")

    active, idle = workers(before)
    assert workers(joined) == (active + 1, idle)
    assert workers(paused) == (active, idle + 1)


def test_http_requests_count_by_route_template_method_and_status(http: httpx.Client, queue: str) -> None:
    (task_id,) = submit(http, queue, "alpha", 1)
    route = "/api/v1/tasks/{task_id}"
    before = scrape(http)

    assert http.get(f"/api/v1/tasks/{task_id}").status_code == 200
    assert http.get(f"/api/v1/tasks/{task_id}").status_code == 200
    assert http.get("/api/v1/tasks/no-such-task").status_code == 404
    assert http.get(f"/no/such/path/{queue}").status_code == 404
    after = scrape(http)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("taskline_http_requests_total", route=route, method="GET", status="200") == 2
    assert delta("taskline_http_requests_total", route=route, method="GET", status="404") == 1
    assert delta("taskline_http_request_seconds_count", route=route, method="GET") == 3
    assert delta("taskline_http_requests_total", route="<unmatched>", method="GET", status="404") == 1
    # The scrape before this one counted too; ids and made-up paths never become a label.
    assert delta("taskline_http_requests_total", route="/metrics", method="GET", status="200") == 1
    routes = {dict(key)["route"] for key in labelled(after, "taskline_http_requests_total")}
    assert not any(task_id in r or queue in r for r in routes)
    (info,) = labelled(after, "taskline_info")
    assert dict(info)["backend"] in ("sqlite", "redis")


def test_closed_metrics_take_an_admin_key(start_server: StartServer) -> None:
    with start_server(api_keys="ka:admin,kp:producer,kw:worker", open_metrics="false") as live:
        codes = {}
        for key in (None, "unknown", "kp", "kw", "ka"):
            with live.client(key) as http:
                response = http.get("/metrics")
                codes[key] = (response.status_code, _code(response))

    assert codes == {
        None: (401, "unauthorized"),
        "unknown": (401, "unauthorized"),
        "kp": (403, "forbidden"),
        "kw": (403, "forbidden"),
        "ka": (200, None),
    }


def test_metrics_are_open_by_default_even_with_keys(start_server: StartServer) -> None:
    with start_server(api_keys="ka:admin") as live, live.client() as anonymous:
        assert anonymous.get("/metrics").status_code == 200
        assert anonymous.get("/api/v1/stats").status_code == 401


def _code(response: httpx.Response) -> str | None:
    return response.json()["error"]["code"] if response.status_code >= 400 else None


def test_instances_on_one_redis_report_the_same_task_totals(redis_url: str, tmp_path: Path) -> None:
    queue = "shared"
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    with (
        live_server(tmp_path / "a", redis_url=redis_url) as first,
        live_server(tmp_path / "b", redis_url=redis_url) as second,
        first.client() as a,
        second.client() as b,
    ):
        submit(a, queue, "alpha", 2)
        submit(b, queue, "alpha", 1)
        submit(b, queue, "add", 2, payload={"a": 1, "b": 2})
        (task,) = lease(a, queue, "alpha", 1)
        finish(b, task, "complete")  # leased through one instance, finished through the other
        with worker_process(tmp_path, "tests.integration.worker.tasks_app", "--queues", queue, redis_url=redis_url):
            wait_until(
                lambda: value(scrape(a), "taskline_tasks_completed_total", queue=queue, type="add") == 2,
                what="the Redis worker to complete both `add` tasks",
            )
        seen = [scrape(a), scrape(b)]

    def tasks(series: Series) -> Series:
        return {
            (name, key): v
            for (name, key), v in series.items()
            if name.startswith(("taskline_tasks_", "taskline_task_", "taskline_queue_")) and ("queue", queue) in key
        }

    assert tasks(seen[0]) == tasks(seen[1])
    assert value(seen[0], "taskline_tasks_submitted_total", queue=queue, type="alpha") == 3
    assert value(seen[0], "taskline_tasks_completed_total", queue=queue, type="alpha") == 1
    assert value(seen[0], "taskline_queue_depth", queue=queue, priority="normal") == 2
    # HTTP figures are each process's own: only the second took the complete.
    complete = {"route": "/api/v1/tasks/{task_id}/complete", "method": "POST", "status": "200"}
    assert [value(s, "taskline_http_requests_total", **complete) for s in seen] == [0, 1]
