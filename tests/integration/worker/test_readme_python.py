"""The README's Python example works as printed: module, worker command and client script."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers.live import LiveServer, live_server

README = Path(__file__).parents[3] / "README.md"
BIN = Path(sys.executable).parent


def example_blocks() -> tuple[str, str, str]:
    text = README.read_text()
    start = text.index("<!-- python-example")
    blocks = re.findall(r"```(?:python|sh)\n(.*?)```", text[start:], re.S)[:3]
    assert len(blocks) == 3, "README.md lost its Python example"
    return blocks[0], blocks[1], blocks[2]


def test_the_python_example_works_as_printed(tmp_path: Path) -> None:
    module, command, script = example_blocks()
    (tmp_path / "tasks.py").write_text(module)
    with live_server(tmp_path) as server:
        env = _env(server)
        worker_line = command.split("#")[0].strip().replace(".venv/bin/", f"{BIN}/")
        worker = subprocess.Popen(["bash", "-c", f"exec {worker_line}"], cwd=tmp_path, env=env)
        try:
            run = subprocess.run(
                [sys.executable, "-c", script.replace("http://127.0.0.1:8080", server.url)],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        finally:
            worker.terminate()
            worker.wait(timeout=20)

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "{'width': 320}"


def _env(server: LiveServer) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    return {**clean, "TASKLINE_SERVER": server.url}
