"""Worker ids holding `/` (a pod name `ns/pod-7`, a path) work on every worker route, sent as
they are or percent-encoded, and through the Python worker's HTTP transport (issue 14)."""

from urllib.parse import quote

import httpx

from taskline.core.workers import WorkerDetails, WorkerState
from taskline.worker.transport import HttpTransport
from tests.helpers.live import LiveServer


def _ids(http: httpx.Client) -> set[str]:
    return {w["id"] for w in http.get("/admin/workers").json()["workers"]}


def test_a_worker_id_with_slashes_reports_pauses_resumes_and_leaves(http: httpx.Client, queue: str) -> None:
    worker_id = f"k8s/{queue}/pod-7"

    reported = http.post(f"/api/v1/workers/{worker_id}/heartbeat", json={"host": "pod-7"})
    read = http.get(f"/admin/workers/{worker_id}")
    paused = http.post(f"/admin/workers/{worker_id}/pause")
    resumed = http.post(f"/admin/workers/{quote(worker_id, safe='')}/resume")  # encoded alike

    assert (reported.status_code, reported.json()) == (200, {"state": "active"})
    assert read.status_code == 200
    assert read.json()["workers"][0]["id"] == worker_id
    assert read.json()["workers"][0]["host"] == "pod-7"
    assert paused.json()["workers"][0]["state"] == "paused"
    assert resumed.json()["workers"][0]["state"] == "active"
    assert worker_id in _ids(http)

    assert http.delete(f"/api/v1/workers/{worker_id}").status_code == 204
    assert worker_id not in _ids(http)
    assert http.get(f"/admin/workers/{worker_id}").status_code == 404


def test_a_worker_id_ending_in_a_route_word_is_that_worker(http: httpx.Client, queue: str) -> None:
    # "a/pause" read with GET is the worker "a/pause"; POST .../pause pauses the worker "a".
    worker_id = f"{queue}/pause"
    http.post(f"/api/v1/workers/{worker_id}/heartbeat", json={})

    assert http.get(f"/admin/workers/{worker_id}").json()["workers"][0]["id"] == worker_id
    assert http.post(f"/admin/workers/{worker_id}/pause").json()["workers"][0]["state"] == "paused"


async def test_the_http_transport_quotes_the_worker_id(server: LiveServer, http: httpx.Client, queue: str) -> None:
    worker_id = f"host/{queue}/worker?1 #a"
    transport = HttpTransport(server.url)
    try:
        state = await transport.worker_heartbeat(worker_id, WorkerDetails(host="h"))
        assert state is WorkerState.ACTIVE
        assert worker_id in _ids(http)
        await transport.worker_left(worker_id)
        assert worker_id not in _ids(http)
    finally:
        await transport.close()
