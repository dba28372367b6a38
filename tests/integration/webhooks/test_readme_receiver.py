"""The README's webhook receiver works as printed: a live server delivers to it, signed."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers.live import live_server, wait_until
from tests.helpers.servers import free_port

README = Path(__file__).parents[3] / "README.md"


def receiver_block() -> str:
    match = re.search(r"<!-- webhook-receiver.*?-->\n```python\n(.*?)```", README.read_text(), re.S)
    assert match, "README.md lost its webhook receiver"
    return match.group(1)


def test_the_readme_receiver_accepts_a_signed_delivery(tmp_path: Path) -> None:
    (tmp_path / "receiver.py").write_text(receiver_block())
    port = free_port()
    out = tmp_path / "receiver.out"
    env = {**os.environ, "TASKLINE_WEBHOOK_SECRET": "s3cret", "PORT": str(port)}
    with out.open("wb") as sink:
        receiver = subprocess.Popen([sys.executable, "receiver.py"], cwd=tmp_path, env=env, stdout=sink)
    try:
        with (
            live_server(tmp_path, webhook_secret="s3cret", webhook_allow_private="true") as server,
            server.client() as http,
        ):
            task_id = http.post("/api/v1/tasks", json={"type": "t", "webhook": f"http://127.0.0.1:{port}/hook"}).json()[
                "id"
            ]
            http.delete(f"/api/v1/tasks/{task_id}")

            def status() -> object:
                return http.get(f"/api/v1/tasks/{task_id}").json()["webhook_status"]["state"]

            # The receiver may take a moment to listen: refused attempts are retried.
            wait_until(lambda: status() == "delivered", timeout_s=30, what="the delivery")
    finally:
        receiver.terminate()
        receiver.wait()

    assert out.read_text().split() == ["task.cancelled", task_id, "cancelled"]
