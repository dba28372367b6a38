"""Go for the tests: the environment `go` runs in, and the Go client's example programs built.

Builds use no network (clients/go has no dependencies; GOPROXY=off makes any fetch an error)
and need no C compiler (CGO_ENABLED=0). Go comes from `make clients-deps` (Debian's
golang-go); without it the caller fails, it does not skip.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.live import REPO_ROOT, clean_env

GO_CLIENT = REPO_ROOT / "clients" / "go"


def go_env(**extra: str) -> dict[str, str]:
    """The environment for `go`: the caller's without TASKLINE_* settings, no network, no cgo,
    no VCS stamping (a clone owned by another user would fail it), and a build cache even
    where HOME is unset; `extra` on top."""
    env = clean_env()
    env |= {"CGO_ENABLED": "0", "GOPROXY": "off", "GOFLAGS": "-mod=readonly -buildvcs=false", "GOWORK": "off"}
    env |= {"GOTOOLCHAIN": "local"}  # a go newer than 1.19 must not fetch another toolchain
    if not (env.get("GOCACHE") or env.get("XDG_CACHE_HOME") or env.get("HOME")):
        env["GOCACHE"] = str(REPO_ROOT / ".cache" / "go-build")
    if not (env.get("GOPATH") or env.get("HOME")):
        env["GOPATH"] = str(REPO_ROOT / ".cache" / "go")
    return env | extra


def go_executable() -> str:
    executable = shutil.which("go")
    if executable is None:
        pytest.fail("`go` is not installed: `make clients-deps` installs Debian's golang-go")
    return executable


def run_go(*args: str, cwd: Path = GO_CLIENT, timeout: float = 280, **env: str) -> subprocess.CompletedProcess[str]:
    """`go ARGS` in `cwd`, its output captured."""
    return subprocess.run(
        [go_executable(), *args], cwd=cwd, env=go_env(**env), capture_output=True, text=True, timeout=timeout
    )


def build_examples(out: Path, module: Path = GO_CLIENT) -> dict[str, Path]:
    """Build `module`'s examples/* programs into `out`: {"worker": path, "producer": path}.
    Each reads TASKLINE_SERVER and TASKLINE_API_KEY (clients/go/README.md)."""
    built = run_go("build", "-o", f"{out}/", "./examples/...", cwd=module)
    if built.returncode != 0:
        pytest.fail(f"go build of the examples failed:\n{built.stdout}{built.stderr}")
    return {name: out / name for name in ("worker", "producer")}
