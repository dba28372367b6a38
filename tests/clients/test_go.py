"""The Go client (clients/go): vetted and gofmt'd, its `go test ./...` passing against a live
server, and the README's producer and worker examples being the example files, working as printed.

Go comes from `make clients-deps` (Debian's golang-go); a machine without it fails here rather
than skipping (tests/helpers/golang.py).
"""

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.examples import example_worker
from tests.helpers.golang import GO_CLIENT, build_examples, go_env, run_go
from tests.helpers.live import LiveServer, live_server

ADMIN_KEY, PRODUCER_KEY = "go-admin", "go-producer"
EXAMPLES = ("examples/worker/main.go", "examples/producer/main.go")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module, as the Go tests expect it (clients/go/README.md, Tests)."""
    with live_server(
        tmp_path_factory.mktemp("go-server"),
        api_keys=f"{ADMIN_KEY}:admin,{PRODUCER_KEY}:producer",
        lease_seconds="3",
        webhook_allow_private="true",
    ) as running:
        yield running


@pytest.mark.timeout(300)  # the first build on a machine compiles the standard library without cgo (~30 s of CPU)
def test_the_go_client_is_vetted_and_gofmt_clean() -> None:
    vet = run_go("vet", "./...")
    assert vet.returncode == 0, vet.stdout + vet.stderr
    gofmt = Path(run_go("env", "GOROOT").stdout.strip()) / "bin" / "gofmt"  # beside go, wherever it is
    unformatted = subprocess.run([gofmt, "-l", "."], cwd=GO_CLIENT, capture_output=True, text=True, check=True)
    assert unformatted.stdout == "", f"not gofmt'd:\n{unformatted.stdout}"


@pytest.mark.timeout(300)
def test_the_go_client_passes_its_tests_against_a_live_server(server: LiveServer) -> None:
    run = run_go(
        "test", "-count=1", "./...",
        TASKLINE_SERVER=server.url, TASKLINE_API_KEY=ADMIN_KEY, TASKLINE_TEST_PRODUCER_KEY=PRODUCER_KEY,
    )  # fmt: skip
    assert run.returncode == 0, f"go test failed:\n{run.stdout}\n{run.stderr}\n--- server log:\n{server.output()}"
    assert re.search(r"^ok\s+github.com/taskline/taskline/clients/go\s", run.stdout, re.M), run.stdout


def readme_examples() -> dict[str, str]:
    """The README's example blocks, by the file each says it is."""
    text = (GO_CLIENT / "README.md").read_text()
    blocks = dict(re.findall(r"<!-- go-example (\S+):[^>]*-->\n```go\n(.*?)```", text, re.S))
    assert sorted(blocks) == sorted(EXAMPLES), "clients/go/README.md lost an example"
    return blocks


def test_the_readme_examples_are_the_example_files() -> None:
    for path, block in readme_examples().items():
        assert block == (GO_CLIENT / path).read_text(), f"the README's {path} differs from the file"


@pytest.mark.timeout(300)
def test_the_readme_examples_work_as_printed(server: LiveServer, tmp_path: Path) -> None:
    # Built from the README's blocks (a module of their own, the client by a replace), so
    # what runs is what a reader copies.
    for path, block in readme_examples().items():
        (tmp_path / path).parent.mkdir(parents=True)
        (tmp_path / path).write_text(block)
    (tmp_path / "go.mod").write_text(
        "module example.com/readme\n\ngo 1.19\n\n"
        "require github.com/taskline/taskline/clients/go v0.0.0\n\n"
        f"replace github.com/taskline/taskline/clients/go => {GO_CLIENT}\n"
    )
    programs = build_examples(tmp_path / "bin", module=tmp_path)
    env = go_env(TASKLINE_SERVER=server.url, TASKLINE_API_KEY=ADMIN_KEY)
    with (
        server.client(ADMIN_KEY) as http,
        example_worker([programs["worker"]], http=http, env=env, log=tmp_path / "worker.log") as worker,
    ):
        producer = subprocess.run([programs["producer"]], env=env, capture_output=True, text=True, timeout=90)
        assert producer.returncode == 0, producer.stderr + worker.output()
        assert producer.stdout == "hello Ada\n"
        task = http.get("/api/v1/tasks", params={"type": "hello", "state": "completed"}).json()["tasks"][0]
        assert task["result"] == {"greeting": "hello Ada", "by": "go"}
        worker.stop()  # SIGTERM: exit 0 and gone from the registry at once
