"""The README's schedules example works as printed: its curl lines, its Python and its CLI lines
against a live server."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers.live import live_server
from tests.integration.api.test_readme import json_documents

README = Path(__file__).parents[3] / "README.md"
BIN = Path(sys.executable).parent


def example_blocks() -> tuple[str, str, str]:
    text = README.read_text()
    start = text.index("<!-- schedules-example")
    blocks = re.findall(r"```(?:python|sh)\n(.*?)```", text[start:], re.S)[:3]
    assert len(blocks) == 3, "README.md lost its schedules example"
    return blocks[0], blocks[1], blocks[2]


def test_the_schedules_example_works_as_printed(tmp_path: Path) -> None:
    curl, script, commands = example_blocks()
    with live_server(tmp_path) as server:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}, "TASKLINE_SERVER": server.url}

        def run(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

        by_curl = run("bash", "-euo", "pipefail", "-c", curl.replace("http://127.0.0.1:8080", server.url))
        by_python = run(sys.executable, "-c", script.replace("http://127.0.0.1:8080", server.url))
        by_cli = run("bash", "-euo", "pipefail", "-c", commands.replace(".venv/bin/", f"{BIN}/"))
        with server.client() as http:
            left = {s["name"]: s for s in http.get("/api/v1/schedules").json()["schedules"]}

    assert by_curl.returncode == 0, by_curl.stderr
    documents: list[Any] = json_documents(by_curl.stdout)  # the DELETE prints nothing
    created, got, paused = documents
    assert (created["name"], created["cron"], created["timezone"]) == ("nightly-report", "0 2 * * *", "Europe/Berlin")
    assert created["task"]["queue"] == "reports"
    assert got == created
    assert (paused["paused"], paused["next_run_at"]) == (True, None)
    assert by_python.returncode == 0, by_python.stderr
    assert by_python.stdout.startswith("cleanup every 600 s 20")
    assert by_cli.returncode == 0, by_cli.stderr
    assert "every 30 s" in by_cli.stdout
    assert "paused schedule heartbeat" in by_cli.stdout
    assert sorted(left) == ["cleanup", "heartbeat"]  # the curl lines deleted theirs
    assert (left["heartbeat"]["paused"], left["heartbeat"]["task"]["queue"]) == (True, "monitoring")
