"""`taskline submit --file`: tasks from a JSON-lines file, checked whole, then sent in bulk requests.

A file is sent in chunks, each all or nothing; if one is refused, the ones before it stay
submitted and the message says how many.
"""

from pathlib import Path
from typing import Any

import orjson
import typer
from rich.progress import Progress

from taskline.cli.connection import connected, errors
from taskline.cli.output import console, print_json

BULK_CHUNK = 500  # tasks per bulk request: under the API's 1000, and a smooth progress bar


def _read_specs(file: Path) -> list[dict[str, Any]]:
    """Every line's task, all read and checked before anything is sent."""
    specs = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            spec = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise typer.BadParameter(f"line {number} is not JSON: {exc}", param_hint="--file") from None
        if not isinstance(spec, dict):
            raise typer.BadParameter(f"line {number} is not a JSON object", param_hint="--file")
        specs.append(spec)
    return specs


def submit_file(file: Path, server: str | None, api_key: str | None, *, as_json: bool) -> None:
    """Submit every task of `file` in bulk requests, with a progress bar on stderr."""
    specs = _read_specs(file)
    ids: list[str] = []
    with connected(server, api_key) as client, Progress(console=errors, transient=True) as progress:
        bar = progress.add_task(f"submitting {file.name}", total=len(specs))
        for start in range(0, len(specs), BULK_CHUNK):
            try:
                ids += [t.id for t in client.submit_many(specs[start : start + BULK_CHUNK])]
            except Exception:
                errors.print(f"the first {len(ids)} tasks were submitted; from task {start + 1} on, none were")
                raise
            progress.advance(bar, len(specs[start : start + BULK_CHUNK]))
    if as_json:
        print_json({"submitted": len(ids), "ids": ids})
    else:
        console.print(f"submitted {len(ids)} tasks from {file}")
