"""The TypeScript client (clients/typescript): its own tests (`npm test`, Node's test runner) against
a live `taskline serve` on SQLite with API keys on, and its README's producer and worker examples
run as printed. A machine without Node fails here rather than skipping (`make clients-deps`)."""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.examples import example_worker
from tests.helpers.live import LiveServer, live_server
from tests.helpers.node import TS_CLIENT as CLIENT
from tests.helpers.node import built_package, node_env, node_executable

KEYS = {"admin": "ts-admin-key", "producer": "ts-producer-key", "worker": "ts-worker-key"}
# What the tests in clients/typescript/test assume of the server (its README says so too).
SETTINGS = {
    "api_keys": ",".join(f"{key}:{role}" for role, key in KEYS.items()),
    "max_queue_size": "20",
    "lease_seconds": "3",
    "backoff_base": "600",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("ts-server"), **SETTINGS) as running:
        yield running


def npm(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["npm", *args], cwd=CLIENT, env=env, capture_output=True, text=True, timeout=timeout)


def test_node_and_the_packages_are_there() -> None:
    node = node_executable()
    assert shutil.which("npm") is not None, "npm is missing: `make clients-deps`"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"Node {version.strip()}: the client needs 20 or later"
    assert (CLIENT / "node_modules" / ".bin" / "tsc").exists(), "no packages in clients/typescript: make clients-deps"


# ~15 s alone; a 2-core machine running other suites beside it (`make test-clients` builds Go and
# TypeScript on the other xdist worker) has taken over 120 s, pytest-timeout's default.
@pytest.mark.timeout(300)
def test_npm_test_passes_against_a_live_server(server: LiveServer) -> None:
    env = node_env(
        TASKLINE_SERVER=server.url,
        TASKLINE_API_KEY=KEYS["admin"],
        TASKLINE_TEST_PRODUCER_KEY=KEYS["producer"],
        TASKLINE_TEST_WORKER_KEY=KEYS["worker"],
    )
    run = npm("test", env=env)
    output = f"{run.stdout}\n{run.stderr}\n--- server log ---\n{server.output()[-5000:]}"
    assert run.returncode == 0, output
    counts = dict(re.findall(r"^ℹ (tests|pass|fail|skipped|todo|cancelled) (\d+)$", run.stdout, re.M))
    assert int(counts.get("pass", 0)) > 0, output
    assert (counts.get("fail"), counts.get("skipped"), counts.get("cancelled")) == ("0", "0", "0"), output


def readme_examples() -> tuple[str, str]:
    text = (CLIENT / "README.md").read_text()
    blocks = []
    for name in ("producer", "worker"):
        found = re.search(rf"<!-- typescript-example: {name} .*?-->\n```js\n(.*?)```", text, re.S)
        assert found is not None, f"clients/typescript/README.md lost its {name} example"
        blocks.append(found[1])
    return blocks[0], blocks[1]


def test_the_example_files_are_the_readmes() -> None:
    """Other tests (the cross-language one) run examples/*.mjs: they must be what the README prints."""
    producer, worker = readme_examples()
    assert (CLIENT / "examples" / "producer.mjs").read_text() == producer
    assert (CLIENT / "examples" / "worker.mjs").read_text() == worker


def test_the_readme_examples_work_as_printed(tmp_path: Path) -> None:
    """On a server of its own, so the task list holds only the example's."""
    producer, worker = readme_examples()
    app = built_package(tmp_path / "app")  # what `npm pack` ships, installed in an app of its own
    (app / "producer.mjs").write_text(producer)
    (app / "worker.mjs").write_text(worker)
    with live_server(tmp_path, api_keys=SETTINGS["api_keys"]) as server, server.client(KEYS["admin"]) as http:
        env = node_env(TASKLINE_SERVER=server.url, TASKLINE_API_KEY=KEYS["worker"])
        with example_worker(
            [node_executable(), "worker.mjs"], http=http, env=env, log=tmp_path / "worker.log", cwd=app
        ) as running:
            run = subprocess.run(
                [node_executable(), "producer.mjs"],
                cwd=app, env=env | {"TASKLINE_API_KEY": KEYS["producer"]}, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n--- worker ---\n{running.output()}"
            assert run.stdout == "hello world\n"
            [task] = http.get("/api/v1/tasks", params={"type": "hello"}).json()["tasks"]
            assert task["result"] == {"greeting": "hello world", "by": "typescript"}
            assert task["attempts"] == 1
            running.stop()  # SIGTERM: exit 0 and gone from the registry at once
