"""Node for the tests: the environment a Node program runs in, and the TypeScript client built
as a package a program outside clients/typescript can import.

Node and the client's devDependencies come from `make clients-deps`; without them the caller
fails, it does not skip (as tests/helpers/golang.py does for Go).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.live import REPO_ROOT, clean_env

TS_CLIENT = REPO_ROOT / "clients" / "typescript"


def node_executable() -> str:
    executable = shutil.which("node")
    if executable is None:
        pytest.fail("`node` is not installed: `make clients-deps` installs it")
    return executable


def node_env(**extra: str) -> dict[str, str]:
    """The environment for `node`: the caller's without TASKLINE_* settings, no colours; `extra` on top."""
    return clean_env() | {"NO_COLOR": "1"} | extra


def built_package(app: Path) -> Path:
    """`app` with the client installed as `npm pack` ships it (package.json and the compiled dist/,
    no runtime dependencies) in app/node_modules/@taskline/client, so a program in `app` imports
    "@taskline/client" as a user's would. One `tsc` into `app`, never into clients/typescript,
    where `npm test` may be building and loading its own output meanwhile (xdist)."""
    tsc = TS_CLIENT / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.fail("no packages in clients/typescript: `make clients-deps`")
    package = app / "node_modules" / "@taskline" / "client"
    package.mkdir(parents=True)
    shutil.copy(TS_CLIENT / "package.json", package)
    build = subprocess.run(
        [node_executable(), tsc, "-p", TS_CLIENT / "tsconfig.json", "--outDir", package / "dist"],
        capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    if build.returncode != 0:
        pytest.fail(f"tsc of clients/typescript failed:\n{build.stdout}{build.stderr}")
    return app
