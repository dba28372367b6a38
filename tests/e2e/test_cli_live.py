"""`taskline top` and `taskline tail` as a person runs them: in a real pseudo-terminal (pexpect),
the screen read through a terminal emulator (pyte), against a live server. The test itself
plays the worker over the HTTP API, so every count on screen moves when the test says so.

`TOP_CAPTURE_DIR=docs` makes the capture test write `docs/top.txt` and the README's copy of it
(`make top-capture`); a plain run writes it to a temporary directory and leaves the README alone.
"""

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pexpect
import pytest

from tests.e2e.test_serve import taskline
from tests.helpers.live import REPO_ROOT, LiveServer, live_server
from tests.helpers.proxy import cuttable_proxy
from tests.helpers.servers import free_port
from tests.helpers.terminal import Terminal

ADMIN, PRODUCER = "admin-key", "producer-key"
README = REPO_ROOT / "README.md"
CAPTURE_START, CAPTURE_END = "<!-- top-capture:", "<!-- /top-capture -->"


def readme_with_capture(readme: str, capture: str) -> str:
    """The README with `capture` as the text block between its top-capture markers."""
    head, start, rest = readme.partition(CAPTURE_START)
    marker_line, _, rest = rest.partition("\n")
    _, end, tail = rest.partition(CAPTURE_END)
    if not (start and end):
        raise ValueError("the README has lost its top-capture markers")
    return f"{head}{start}{marker_line}\n```text\n{capture}```\n{end}{tail}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    keys = f"{ADMIN}:admin,{PRODUCER}:producer"
    # The test holds leases without heartbeats: long enough that none expires on a loaded machine.
    with live_server(tmp_path_factory.mktemp("serve"), api_keys=keys, lease_seconds="600") as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(api_key=ADMIN) as client:
        yield client


def env(server: LiveServer, key: str = ADMIN) -> dict[str, str]:
    return {"TASKLINE_SERVER": server.url, "TASKLINE_API_KEY": key}


def submit(http: httpx.Client, type: str, queue: str, **fields: Any) -> str:
    response = http.post("/api/v1/tasks", json={"type": type, "queue": queue, **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def lease(
    http: httpx.Client, queue: str, worker_id: str, count: int, *, types: str | None = None
) -> list[dict[str, Any]]:
    """Lease `count` tasks of `queue` as worker `worker_id`, as an external worker would."""
    leased: list[dict[str, Any]] = []
    while len(leased) < count:
        params = {"worker_id": worker_id, "queues": queue, "max": count - len(leased), "wait": 10}
        params |= {"types": types} if types else {}
        response = http.get("/api/v1/poll", params=params, timeout=30)
        assert response.status_code in (200, 204), response.text
        leased += response.json()["tasks"] if response.status_code == 200 else []
    return leased


def complete(http: httpx.Client, task: dict[str, Any]) -> None:
    response = http.post(f"/api/v1/tasks/{task['id']}/complete", json={"token": task["lease"]["token"]})
    assert response.status_code == 200, response.text


def fail(http: httpx.Client, task: dict[str, Any]) -> None:
    body = {"token": task["lease"]["token"], "error": "image too large", "retry": False}
    assert http.post(f"/api/v1/tasks/{task['id']}/fail", json=body).status_code == 200


def row(text: str, first: str) -> list[str]:
    """The cells of the screen's table row that starts with `first` ([] if none)."""
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] == first:
            return cells[1:]
    return []


def state_counts(text: str) -> dict[str, int]:
    """The state table of `top`: its header line, then the counts under it."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        names = line.split()
        if names[:2] == ["pending", "scheduled"]:
            # The screen may be caught half drawn: no row of counts yet, or part of one.
            values = next((v.split() for v in lines[i + 1 :] if v.split() and v.split()[0].isdigit()), [])
            if len(values) == len(names) and all(v.isdigit() for v in values):
                return dict(zip(names, map(int, values), strict=True))
    return {}


SOURCE = {"events": "events", "poll": "polling (--poll)", "no-websockets": "polling (no event yet)"}


@pytest.mark.parametrize("mode", SOURCE)
def test_top_counts_move_as_tasks_complete(server: LiveServer, http: httpx.Client, tmp_path: Path, mode: str) -> None:
    """Fed by events; with --poll; and through a proxy that drops WebSockets, where it polls."""
    queue = f"top-{mode}"
    for _ in range(3):
        submit(http, "resize", queue)
    completed_before = http.get("/api/v1/stats").json()["states"]["completed"]
    args = ["--interval", "0.2", *(["--poll"] if mode == "poll" else [])]
    with contextlib.ExitStack() as stack:
        url = server.url
        if mode == "no-websockets":
            proxy = stack.enter_context(cuttable_proxy(server.port))
            proxy.refuse_websockets = True
            url = proxy.url
        term = stack.enter_context(terminal("top", *args, cwd=tmp_path, **{**env(server), "TASKLINE_SERVER": url}))
        top_counts_move(term, http, queue, mode, completed_before)


@contextlib.contextmanager
def terminal(*args: str, cwd: Path, **env: str) -> Iterator[Terminal]:
    term = Terminal(*args, cwd=cwd, **env)
    try:
        yield term
    finally:
        term.close()


def top_counts_move(term: Terminal, http: httpx.Client, queue: str, mode: str, completed_before: int) -> None:
    """3 pending, 2 of them running on a worker, then completed; q quits."""
    term.wait_for(lambda t: row(t, queue)[:3] == ["no", "0", "3"], what=f"3 pending in {queue}")
    leased = lease(http, queue, f"worker-{mode}", 2)
    term.wait_for(lambda t: "resize×2" in row(t, f"worker-{mode}"), what="the worker running 2 resize")

    for task in leased:
        complete(http, task)
    screen = term.wait_for(
        lambda t: state_counts(t).get("completed") == completed_before + 2 and row(t, queue)[:3] == ["no", "0", "1"],
        what="2 more completed and 1 left pending",
    )
    if mode == "events":
        assert re.search(r"completed/s (?!0\.0)\d+\.\d", screen), screen
    assert SOURCE[mode] in screen

    term.child.send("q")
    assert term.wait_exit() == 0


def test_top_with_a_producer_key_shows_workers_from_their_running_tasks(
    server: LiveServer, http: httpx.Client, tmp_path: Path
) -> None:
    submit(http, "transcode", "top-producer")
    lease(http, "top-producer", "worker-seen", 1)
    term = Terminal("top", "--interval", "0.2", cwd=tmp_path, **env(server, PRODUCER))
    try:
        screen = term.wait_for(lambda t: "transcode" in row(t, "worker-seen"), what="worker-seen running transcode")
        assert "worker records need an admin key" in screen
        term.child.sendintr()  # Ctrl-C quits as q does
        assert term.wait_exit() == 0
    finally:
        term.close()


def test_top_prints_plain_lines_when_stdout_is_not_a_terminal(server: LiveServer, tmp_path: Path) -> None:
    run = taskline("top", "--count", "2", "--interval", "0.1", cwd=tmp_path, **env(server))

    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        fields = dict(word.split("=", 1) for word in line.split()[1:])
        assert {"pending", "running", "completed", "failed", "total", "workers", "completed/s"} <= fields.keys()
        assert "\x1b" not in line


def test_top_straight_on_redis(redis_url: str, tmp_path: Path) -> None:
    """A `redis://` server: the counts and the worker registry read from the store itself."""
    submitted = taskline("submit", "echo", "--queue", "top-redis", cwd=tmp_path, TASKLINE_SERVER=redis_url)
    run = taskline("top", "--count", "1", cwd=tmp_path, TASKLINE_SERVER=redis_url)

    assert submitted.returncode == 0, submitted.stderr
    assert run.returncode == 0, run.stderr
    assert re.search(r" pending=[1-9]\d* ", run.stdout), run.stdout


def first_event(term: Terminal, http: httpx.Client, queue: str) -> dict[str, Any]:
    """The first event `tail --json` prints: probe tasks are submitted until one is printed,
    since nothing tells from outside when its stream has connected."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        submit(http, "probe", queue)
        try:
            term.child.expect(JSON_LINE, timeout=2)
        except pexpect.TIMEOUT:
            continue
        return dict(json.loads(term.child.match.group(1)))
    raise AssertionError("tail printed no event")


JSON_LINE = r"(\{[^\r\n]*\})\r\n"  # pexpect compiles with DOTALL: one line, not `.*`


def test_tail_json_lines_parse_and_resume_with_since(server: LiveServer, http: httpx.Client, tmp_path: Path) -> None:
    queue = "tail-q"
    term = Terminal("tail", "--json", "--queue", queue, cwd=tmp_path, **env(server, PRODUCER))
    try:
        first = first_event(term, http, queue)
        thumb, mail = submit(http, "thumbnail", queue), submit(http, "mail", queue)
        submit(http, "thumbnail", "elsewhere")
        complete(http, *lease(http, queue, "w", 1, types="thumbnail"))
        seen: list[dict[str, Any]] = []
        while not any(e["event"] == "task.completed" for e in seen):
            term.child.expect(JSON_LINE, timeout=60)
            seen.append(json.loads(term.child.match.group(1)))
        term.child.sendintr()
        assert term.wait_exit() == 0
    finally:
        term.close()

    shown = [(e["event"], e["task"]["id"]) for e in seen if e["task"]["type"] != "probe"]
    assert shown[:2] == [("task.created", thumb), ("task.created", mail)]
    assert ("task.completed", thumb) in shown
    assert all(e["task"]["queue"] == queue for e in [first, *seen])
    assert all(e["id"] and e["ts"].endswith("Z") for e in seen)

    # Resumed after the first event, only completions of type thumbnail: one line, then Ctrl-C.
    args = ["--since", first["id"], "--events", "task.completed", "--type", "thumbnail", "--queue", queue]
    replay = Terminal("tail", *args, cwd=tmp_path, **env(server, PRODUCER))
    try:
        screen = replay.wait_for(lambda t: thumb in t, what="the replayed completion")
        assert "task.completed" in screen
        assert "mail" not in screen
        assert "task.created" not in screen
        replay.child.sendintr()
        assert replay.wait_exit() == 0
    finally:
        replay.close()

    # Into a pipe whose reader leaves after one line (`| head -1`): a quiet exit 0.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINE_")}
    piped = subprocess.Popen(
        [sys.executable, "-m", "taskline", "tail", "--json", "--since", first["id"], "--queue", queue],
        env={**clean, **env(server, PRODUCER)},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert piped.stdout is not None
    assert piped.stderr is not None
    assert json.loads(piped.stdout.readline())["task"]["queue"] == queue
    piped.stdout.close()
    submit(http, "after-the-reader-left", queue)  # so tail writes again, into the closed pipe
    assert piped.wait(timeout=60) == 0
    with piped.stderr:
        assert piped.stderr.read() == b""


@pytest.mark.parametrize("command", ["tail", "top"])
def test_an_unreachable_server_or_a_refused_key_exits_non_zero(
    server: LiveServer, tmp_path: Path, command: str
) -> None:
    nowhere = taskline(command, cwd=tmp_path, TASKLINE_SERVER=f"http://127.0.0.1:{free_port()}")
    refused = taskline(command, cwd=tmp_path, **env(server, "not-a-key"))

    assert nowhere.returncode == 1
    assert "could not reach" in nowhere.stderr
    assert refused.returncode == 1
    assert "unauthorized" in refused.stderr


def test_tail_refuses_an_unknown_event_name_and_a_bad_since(server: LiveServer, tmp_path: Path) -> None:
    unknown = taskline("tail", "--events", "task.exploded", cwd=tmp_path, **env(server))
    bad_since = taskline("tail", "--since", "yesterday", cwd=tmp_path, **env(server))

    assert unknown.returncode == 1
    assert "validation_error" in unknown.stderr
    assert "task.completed" in unknown.stderr  # the known names are listed
    assert bad_since.returncode == 1
    assert "validation_error" in bad_since.stderr


def test_capture_of_top_for_the_readme(tmp_path: Path) -> None:
    """A fresh server with a little of everything, `top` at 80 x 24, its screen written out."""
    out = Path(os.environ.get("TOP_CAPTURE_DIR") or tmp_path)
    with live_server(tmp_path, lease_seconds="600") as live, live.client() as http:
        for type, queue, priority, count in [
            ("send-email", "emails", "high", 6),
            ("send-email", "emails", "normal", 9),
            ("thumbnail", "images", "normal", 7),
            ("report", "reports", "low", 2),
        ]:
            for _ in range(count):
                submit(http, type, queue, priority=priority)
        emails, images = lease(http, "emails", "worker-a", 5), lease(http, "images", "worker-b", 5)
        term = Terminal("top", "--interval", "0.2", cwd=tmp_path, rows=24, columns=80, TASKLINE_SERVER=live.url)
        try:
            term.wait_for(lambda t: state_counts(t).get("running") == 10, what="10 running")
            for task in emails[:3] + images[:2]:  # while top watches, so the rates show them
                complete(http, task)
            fail(http, images[2])
            screen = term.wait_for(
                lambda t: state_counts(t).get("completed") == 5 and "thumbnail×2" in t and "send-email×2" in t,
                what="the seeded counts",
            )
            term.child.send("q")
            assert term.wait_exit() == 0
        finally:
            term.close()
    (out / "top.txt").write_text(screen)
    if os.environ.get("TOP_CAPTURE_DIR"):
        README.write_text(readme_with_capture(README.read_text(), screen))
    assert row(screen, "emails")[:5] == ["no", "0", "9", "1", "0"]
