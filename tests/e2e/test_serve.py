"""`taskline` as a person runs it: serve, stop, config."""

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.helpers.live import live_server, wait_until


def taskline(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    return subprocess.run(
        [sys.executable, "-m", "taskline", *args], cwd=cwd, env={**clean, **env}, capture_output=True, text=True
    )


def test_config_prints_effective_settings_with_secrets_masked(tmp_path: Path) -> None:
    (tmp_path / "taskline.yaml").write_text("port: 7001\n")

    run = taskline(
        "config", "--json", cwd=tmp_path, TASKLINE_API_KEYS="topsecret:admin", TASKLINE_REDIS_URL="redis://:pw@h:1/0"
    )

    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert (shown["port"], shown["api_keys"], shown["redis_url"]) == (7001, "***", "redis://:***@h:1/0")
    assert "topsecret" not in run.stdout


def test_config_refuses_a_bad_file_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "taskline.yaml").write_text("port: not-a-port\n")

    run = taskline("config", cwd=tmp_path)

    assert run.returncode != 0
    assert "port" in run.stderr


def test_sigterm_stops_serve_cleanly_and_keeps_what_it_acknowledged(tmp_path: Path) -> None:
    with live_server(tmp_path) as server, server.client() as http:
        task_id = http.post("/api/v1/tasks", json={"type": "echo"}).json()["id"]
        server.process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status says why.
        assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in server.output()

    with live_server(tmp_path) as again, again.client() as http:
        assert http.get(f"/api/v1/tasks/{task_id}").json()["state"] == "pending"


def test_sigterm_ends_waiting_long_polls_instead_of_waiting_them_out(tmp_path: Path) -> None:
    # Without the early end, uvicorn would wait shutdown_timeout (55 s) for the poll to finish.
    with (
        live_server(tmp_path, log_level="debug", shutdown_timeout="55") as server,
        server.client() as http,
        ThreadPoolExecutor(1) as pool,
    ):
        waiting = pool.submit(http.get, "/api/v1/poll", params={"worker_id": "w9", "queues": "idle", "wait": 60})
        wait_until(lambda: "poll by w9 waits" in server.output(), what="the poll to wait")
        server.process.send_signal(signal.SIGTERM)

        assert waiting.result(timeout=20).status_code == 204
        assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)


def test_serve_with_workers_runs_the_built_in_handlers(tmp_path: Path) -> None:
    with live_server(tmp_path, workers="2") as server, server.client() as http:
        task_id = http.post("/api/v1/tasks", json={"type": "echo", "payload": {"n": 1}}).json()["id"]
        wait_until(lambda: http.get(f"/api/v1/tasks/{task_id}").json()["state"] == "completed", what="the echo")

        assert http.get(f"/api/v1/tasks/{task_id}").json()["result"] == {"n": 1}


def test_serve_prints_where_the_dashboard_is_whatever_the_log_level(tmp_path: Path) -> None:
    with live_server(tmp_path, log_level="warning") as server:
        # Printed once listening, before any request is answered: healthy means it is there.
        assert f"Dashboard: http://127.0.0.1:{server.port}/\n" in server.output()


def test_a_key_in_the_websocket_query_stays_out_of_the_log(tmp_path: Path) -> None:
    # Browsers can give /ws a key only in ?api_key=, and uvicorn logs each WebSocket's path.
    with live_server(tmp_path, log_level="debug", api_keys="sekrit-key:admin") as server:
        url = f"ws://127.0.0.1:{server.port}/ws?api_key=sekrit-key&events=task.created"
        with connect(url):
            pass
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{server.port}/ws?api_key=wrong-sekrit")
        wait_until(lambda: server.output().count('"WebSocket /ws') >= 2, what="both WebSockets logged")

        assert "api_key=***" in server.output()
        assert "sekrit" not in server.output()
