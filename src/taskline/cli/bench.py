"""`taskline bench smoke|load|stress`: load a running server and report throughput and latency.

smoke submits a few tasks and drains them (does it work at all: exit 1 if anything failed);
load holds a steady rate; stress ramps the number of connections up, flat out. Tasks go to
a queue of the run's own, drained afterwards unless --no-drain.

The generator is Python (httpx) and shares the machine with the server: it finds where a
deployment's latency bends, not the server's ceiling; `make bench` drives wrk for that.
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.table import Table

from taskline.cli.connection import ApiKeyOption, JsonOption, ServerOption, reporting_errors, settings_for
from taskline.cli.load import Phase, count_slots, drain, flat_out_slots, rate_slots, submit_phase, summarize
from taskline.cli.output import console, print_json
from taskline.client import AsyncClient

bench = typer.Typer(help="Load a running server; report throughput and latency.", no_args_is_help=True)
Concurrency = Annotated[int, typer.Option(min=1, max=1000, help="Connections submitting at once")]
Duration = Annotated[float, typer.Option(min=0.1, help="Seconds of submitting")]
Drain = Annotated[bool, typer.Option(help="Then lease and complete every task submitted")]
PayloadBytes = Annotated[int, typer.Option(min=0, help="Size of each task's payload")]
Phases = Callable[[AsyncClient, dict[str, Any]], Awaitable[list[Phase]]]


@dataclass
class Options:
    server: str | None
    api_key: str | None
    drain: bool
    payload_bytes: int
    as_json: bool
    concurrency: int  # the most connections any phase uses: the client's pool holds that many


def _run(profile: str, options: Options, phases: Phases) -> dict[str, Any]:
    """Submit in `phases` to a queue of the run's own, drain it, print the report and return it."""
    settings = settings_for(options.server, options.api_key)
    url, key = settings.server, settings.api_key.get_secret_value() if settings.api_key else None
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter("bench loads an HTTP server: give an http(s):// URL", param_hint="--server")
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    spec = {"type": "bench", "queue": queue, "payload": {"data": "x" * options.payload_bytes}}

    async def main() -> dict[str, Any]:
        # A 429 is counted, not waited out; each submitting coroutine has a connection of its own
        # (the client's pool would otherwise hold --concurrency above 100 to 100).
        async with AsyncClient(url, key, retries=0, connections=options.concurrency) as client:
            done = await phases(client, spec)
        report = summarize(profile, queue, done)
        if options.drain and report["submitted"]:
            drained, seconds = await drain(url, key, queue, max(p.concurrency for p in done))
            report["drain"] = {
                "completed": drained,
                "seconds": round(seconds, 3),
                "throughput_rps": round(drained / seconds, 1),
            }
        return report

    with reporting_errors():
        report = asyncio.run(main())
    _print(report, as_json=options.as_json)
    return report


def _print(report: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    table = Table("concurrency", "submitted", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
    for row in [*report["phases"], report] if len(report["phases"]) > 1 else [report]:
        latency = row["latency_ms"]
        errors = ", ".join(f"{code} {n}" for code, n in row["errors"].items()) or "0"
        cells = [row["concurrency"], row["submitted"], errors, row["throughput_rps"]]
        table.add_row(*map(str, cells), *(str(latency[p]) for p in ("p50", "p95", "p99", "p100")))
    console.print(f"[bold]{report['profile']}[/bold] on queue {report['queue']}")
    console.print(table)
    if "drain" in report:
        drained = report["drain"]
        console.print(f"drained {drained['completed']} in {drained['seconds']} s ({drained['throughput_rps']} tasks/s)")


@bench.command()
def smoke(
    tasks: Annotated[int, typer.Option(min=1, help="How many tasks")] = 20,
    concurrency: Concurrency = 2,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """A few tasks submitted and drained: exit 1 unless every one went through."""

    async def phases(client: AsyncClient, spec: dict[str, Any]) -> list[Phase]:
        return [await submit_phase(client, spec, count_slots(tasks), concurrency)]

    report = _run("smoke", Options(server, api_key, True, 16, as_json, concurrency), phases)
    if report["errors"] or report["submitted"] != tasks or report.get("drain", {}).get("completed") != tasks:
        raise typer.Exit(1)


@bench.command()
def load(
    rate: Annotated[float, typer.Option(min=0.1, help="Submits per second to hold")] = 100,
    duration: Duration = 10,
    concurrency: Concurrency = 50,
    drain: Drain = True,
    payload_bytes: PayloadBytes = 64,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """A steady rate of submits for a while; latency counts from when each was due."""

    async def phases(client: AsyncClient, spec: dict[str, Any]) -> list[Phase]:
        return [await submit_phase(client, spec, rate_slots(rate, duration), concurrency)]

    _run("load", Options(server, api_key, drain, payload_bytes, as_json, concurrency), phases)


@bench.command()
def stress(
    concurrency: Concurrency = 64,
    steps: Annotated[int, typer.Option(min=1, help="Connection counts on the way up to --concurrency")] = 4,
    duration: Duration = 20,
    drain: Drain = True,
    payload_bytes: PayloadBytes = 64,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Flat out, with more connections each step: where does throughput stop growing?"""

    async def phases(client: AsyncClient, spec: dict[str, Any]) -> list[Phase]:
        levels = sorted({max(1, concurrency * (i + 1) // steps) for i in range(steps)})
        return [await submit_phase(client, spec, flat_out_slots(duration / len(levels)), n) for n in levels]

    _run("stress", Options(server, api_key, drain, payload_bytes, as_json, concurrency), phases)


def register(app: typer.Typer) -> None:
    app.add_typer(bench, name="bench")
