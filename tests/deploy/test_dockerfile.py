"""The Dockerfile, checked without a container engine: its shape (two stages, a non-root user,
a curl-free HEALTHCHECK), its build context, and its ENTRYPOINT + CMD run as a process with the
environment the image sets, answering /health and passing the image's own HEALTHCHECK."""

import os
import re
import signal
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from tests.helpers import dockerfile
from tests.helpers.live import REPO_ROOT, LiveServer, stop
from tests.helpers.live import _wait_until_healthy as wait_until_healthy
from tests.helpers.servers import free_port

STAGES = dockerfile.stages()
IMAGE = STAGES[-1]


def test_the_image_installs_a_wheel_built_in_an_earlier_stage_into_a_slim_python_3_11():
    build = STAGES[0]
    assert len(STAGES) == 2
    assert build.name == "build"
    assert build.base == IMAGE.base == "python:3.11-slim"
    assert any("pip wheel" in run.args for run in build.all("RUN"))
    installs = [run.args for run in IMAGE.all("RUN") if "pip install" in run.args]
    assert len(installs) == 1
    # From the build stage's wheels only (no index), bind-mounted so they leave no layer behind;
    # with the postgres extra, which TASKLINE_POSTGRES_URL needs (compose.yaml sets it).
    assert "from=build" in installs[0]
    assert "--no-index" in installs[0]
    assert '"taskline[postgres]"' in installs[0]
    assert not IMAGE.all("COPY"), "the runtime stage copies nothing but what pip installs"


def test_the_image_runs_as_a_fixed_non_root_user():
    uid = IMAGE.args("USER").partition(":")[0]  # the last USER is the one the container runs as
    assert uid.isdigit()  # numeric, so runAsNonRoot and a volume's owner can be checked
    assert int(uid) != 0
    assert f"--uid {uid}" in " ".join(run.args for run in IMAGE.all("RUN")), "a user the image creates"


def test_the_entrypoint_is_taskline_serving_on_every_interface_of_the_exposed_port():
    assert dockerfile.command(IMAGE.args("ENTRYPOINT")) == ["taskline"]
    assert dockerfile.command(IMAGE.args("CMD")) == ["serve"]
    env = IMAGE.env()
    assert env["TASKLINE_HOST"] == "0.0.0.0"  # reachable from outside the container
    assert IMAGE.args("EXPOSE") == env["TASKLINE_PORT"]


def test_the_healthcheck_asks_health_with_what_the_slim_image_has():
    check = dockerfile.healthcheck(IMAGE)
    assert check is not None
    options, argv = check
    assert "curl" not in " ".join(argv)
    assert "wget" not in " ".join(argv)
    assert "/health" in " ".join(argv)
    # It must give up before Docker does, so a hung server fails the check rather than hangs it.
    timeout = re.search(r"timeout=(\d+)\)", " ".join(argv))
    assert timeout is not None
    assert int(timeout.group(1)) < _seconds(options["timeout"])


def _seconds(duration: str) -> float:
    value, unit = re.fullmatch(r"(\d+)(ms|s|m)", duration).groups()
    return int(value) * {"ms": 0.001, "s": 1, "m": 60}[unit]


def test_the_build_context_holds_what_the_build_copies_and_nothing_local():
    copied = [word for copy in STAGES[0].all("COPY") for word in copy.args.split()[:-1]]
    assert sorted(copied) == ["README.md", "pyproject.toml", "src"]
    sources = [path.relative_to(REPO_ROOT).as_posix() for name in copied for path in _source_files(REPO_ROOT / name)]
    assert len(sources) > 100
    assert [path for path in sources if dockerfile.ignored(path)] == []
    for local in [
        ".venv/bin/python",
        ".git/HEAD",
        "taskline.db",
        "clients/typescript/node_modules/ws/index.js",
        "tests/conftest.py",
        "src/taskline/__pycache__/config.cpython-311.pyc",
        "src/taskline.egg-info/PKG-INFO",
    ]:
        assert dockerfile.ignored(local), local


def _source_files(path: Path) -> list[Path]:
    """The files under `path` (or `path` itself) but what Python and an editable install leave
    there: the tree as a clone has it (read from disk, not `git ls-files`, which refuses a clone
    that another user owns)."""
    if path.is_file():
        return [path]
    return [
        found
        for found in path.rglob("*")
        if found.is_file()
        and "__pycache__" not in found.parts
        and not any(p.endswith(".egg-info") for p in found.parts)
    ]


def test_the_wheel_ships_every_data_file_the_package_reads():
    """The image runs the wheel, not the source tree: a Lua script, SQL file or dashboard asset
    that the package-data globs miss is missing in the image alone."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["taskline"]
    package = REPO_ROOT / "src" / "taskline"
    data = [path.relative_to(package).as_posix() for path in _source_files(package) if path.suffix != ".py"]
    assert data
    assert [path for path in data if not any(fnmatch(path, glob) for glob in globs)] == []


def test_the_entrypoint_and_cmd_serve_health_and_metrics_and_pass_the_healthcheck(tmp_path: Path):
    """`docker run taskline` without Docker: ENTRYPOINT + CMD as the process, the image's ENV as
    its environment, the port and the SQLite path overridden as `-e` would (this machine's 8080
    may be taken; /data is the image's volume), the working directory as WORKDIR's stand-in."""
    bin_dir = str(Path(sys.executable).parent)  # where pip put `taskline`, as /usr/local/bin in the image
    port = free_port()
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("TASKLINE_")},
        **IMAGE.env(),
        "TASKLINE_PORT": str(port),
        "TASKLINE_SQLITE_PATH": str(tmp_path / "taskline.db"),
        "PATH": bin_dir + os.pathsep + os.environ["PATH"],
    }
    argv = dockerfile.command(IMAGE.args("ENTRYPOINT")) + dockerfile.command(IMAGE.args("CMD"))
    check = dockerfile.healthcheck(IMAGE)
    assert check is not None
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(process, port, log)
    try:
        wait_until_healthy(server)
        assert f"taskline serving on http://0.0.0.0:{port}" in server.output()
        healthy = subprocess.run(check[1], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert healthy.returncode == 0, healthy.stderr
        with server.client() as http:
            metrics = http.get("/metrics")
        assert metrics.status_code == 200
        assert "taskline_info{" in metrics.text  # what deploy/prometheus.yml scrapes
    finally:
        stop(process)
    # A graceful stop on `docker stop`'s SIGTERM: uvicorn shuts down, then re-raises the signal
    # (so Docker shows 143, as for any process that SIGTERM ended).
    assert process.returncode in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text()
    # Stopped, the same check fails: it tells a dead server from a live one.
    gone = subprocess.run(check[1], env=env, cwd=tmp_path, capture_output=True, timeout=30)
    assert gone.returncode != 0
