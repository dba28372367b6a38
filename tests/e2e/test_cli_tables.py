"""The listings at 80 columns, and abbreviated ids, as a person uses them: `taskline list`,
`dlq list`, `stats`, `queue list` in a subprocess against a live server on each backend."""

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_serve import taskline
from tests.helpers.live import LiveServer, live_server
from tests.helpers.servers import RedisServer

TYPE = "resize.thumbnail"  # 16 characters: the longest names the tables promise to show whole
QUEUE = "images-priority1"
_redis_db = itertools.count(11)
REDIS_URLS: dict[str, str] = {}  # a Redis-backed server's URL -> its Redis URL


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    redis_url = None
    if request.param == "redis":
        redis_server: RedisServer = request.getfixturevalue("redis_server")
        redis_url = f"redis://127.0.0.1:{redis_server.port}/{next(_redis_db) % 16}"
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    with live_server(tmp_path_factory.mktemp("serve"), redis_url=redis_url) as live:
        if redis_url is not None:
            REDIS_URLS[live.url] = redis_url
        yield live


@pytest.fixture(scope="module")
def seeded(server: LiveServer) -> list[str]:
    """A bulk of 12 (ids alike up to the counter digits) and a failed task; their ids."""
    with server.client() as http:
        bulk = http.post("/api/v1/tasks/bulk", json=[{"type": TYPE, "queue": QUEUE, "priority": "high"}] * 12)
        http.post("/api/v1/tasks", json={"type": TYPE, "queue": "doomed", "max_retries": 0})
        (leased,) = http.get("/api/v1/poll", params={"worker_id": "w", "queues": "doomed"}).json()["tasks"]
        token = leased["lease"]["token"]
        error = "the image is not a PNG or a JPEG and cannot be thumbnailed " * 3
        failed = http.post(f"/api/v1/tasks/{leased['id']}/fail", json={"token": token, "error": error})
        assert failed.json()["state"] == "failed"
    return [t["id"] for t in bulk.json()["tasks"]] + [leased["id"]]


def cli(server: LiveServer, *args: str, cwd: Path) -> tuple[int, str, str]:
    done = taskline(*args, cwd=cwd, TASKLINE_SERVER=server.url, COLUMNS="80")
    return done.returncode, done.stdout, done.stderr


def _rows(table: str) -> list[list[str]]:
    """The table's body rows, split into cells (one space apart; no cell here has a space)."""
    lines = table.splitlines()
    return [line.split() for line in lines[2:] if line.strip()]


def test_list_fits_80_columns_with_type_and_queue_whole(server: LiveServer, seeded: list[str], tmp_path: Path) -> None:
    code, out, err = cli(server, "list", "--queue", QUEUE, cwd=tmp_path)

    assert code == 0, err
    assert max(map(len, out.splitlines())) <= 80
    assert out.splitlines()[0].split() == ["id", "type", "queue", "state", "pri", "tries", "age"]
    rows = _rows(out)
    assert len(rows) == 12
    for short, type, queue, state, priority, tries, _ in rows:
        assert (type, queue, state, priority, tries) == (TYPE, QUEUE, "pending", "high", "0")
        assert len([i for i in seeded if i.startswith(short)]) == 1
        assert len(short) < 36


def test_the_ids_the_list_shows_are_what_get_cancel_and_retry_take(
    server: LiveServer, seeded: list[str], tmp_path: Path
) -> None:
    _, out, _ = cli(server, "list", "--queue", QUEUE, "--limit", "1", cwd=tmp_path)
    short = _rows(out)[0][0]
    (task_id,) = [i for i in seeded if i.startswith(short)]

    got = cli(server, "get", short, "--json", cwd=tmp_path)
    cancelled = cli(server, "cancel", short, "--json", cwd=tmp_path)
    retried = cli(server, "retry", short, "--json", cwd=tmp_path)

    assert (got[0], json.loads(got[1])["id"]) == (0, task_id)
    assert (cancelled[0], json.loads(cancelled[1])["state"]) == (0, "cancelled")
    assert (retried[0], json.loads(retried[1])["state"], json.loads(retried[1])["id"]) == (0, "pending", task_id)


@pytest.mark.parametrize("server", ["redis"], indirect=True)
def test_straight_on_redis_the_cli_abbreviates_and_resolves_too(
    server: LiveServer, seeded: list[str], tmp_path: Path
) -> None:
    url = REDIS_URLS[server.url]
    listed = taskline("list", "--queue", QUEUE, "--limit", "1", "--server", url, cwd=tmp_path, COLUMNS="80")
    short = _rows(listed.stdout)[0][0]
    got = taskline("get", short, "--json", "--server", url, cwd=tmp_path)

    assert listed.returncode == got.returncode == 0, listed.stderr + got.stderr
    assert json.loads(got.stdout)["id"] in [i for i in seeded if i.startswith(short)]
    assert len(short) < 36


def test_an_ambiguous_prefix_is_refused_naming_how_many(server: LiveServer, seeded: list[str], tmp_path: Path) -> None:
    with server.client() as http:
        before = http.get("/api/v1/stats").json()
    code, out, err = cli(server, "cancel", seeded[0][:8], cwd=tmp_path)

    assert code == 1
    assert out == ""
    assert "ambiguous_id" in err
    assert "task ids start with" in " ".join(err.split())
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/api/v1/stats").json() == before


# How a listing is printed does not depend on the backend: these run on one.
ONE_BACKEND = pytest.mark.parametrize("server", ["sqlite"], indirect=True)


@ONE_BACKEND
def test_wide_shows_whole_ids_and_times(server: LiveServer, seeded: list[str], tmp_path: Path) -> None:
    code, out, err = cli(server, "list", "--queue", QUEUE, "--wide", cwd=tmp_path)

    assert code == 0, err
    rows = _rows(out)
    assert sorted(row[0] for row in rows) == sorted(seeded[:12])
    assert {row[4] for row in rows} == {"high"}
    assert all(row[6].endswith("Z") for row in rows)


# What each listing's JSON lines are: the API's own objects, one a line (stats: its one document).
JSONL = {
    ("list",): ("/api/v1/tasks", lambda answer: answer["tasks"]),
    ("dlq", "list"): ("/admin/dlq", lambda answer: answer["tasks"]),
    ("queue", "list"): ("/api/v1/queues", lambda answer: answer["queues"]),
    ("stats",): ("/api/v1/stats", lambda answer: [answer]),
}


@ONE_BACKEND
@pytest.mark.parametrize("command", list(JSONL))
def test_every_listing_prints_json_lines(
    server: LiveServer, seeded: list[str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    code, out, err = cli(server, *command, "--output", "jsonl", cwd=tmp_path)
    path, items = JSONL[command]
    with server.client() as http:
        expected = items(http.get(path).json())

    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    if command == ("stats",):  # stats adds the queues to /api/v1/stats' document
        assert [{k: v for k, v in line.items() if k != "queues"} for line in lines] == expected
    else:
        assert [line.get("id", line.get("name")) for line in lines] == [
            item.get("id", item.get("name")) for item in expected
        ][: len(lines)]
        assert len(lines) == min(len(expected), 20)


@ONE_BACKEND
def test_dlq_stats_and_queues_fit_80_columns(server: LiveServer, seeded: list[str], tmp_path: Path) -> None:
    dlq, stats, queues = (cli(server, *c, cwd=tmp_path) for c in (["dlq", "list"], ["stats"], ["queue", "list"]))

    for code, out, err in (dlq, stats, queues):
        assert code == 0, err
        assert max(map(len, out.splitlines())) <= 80
        assert "…" not in out.splitlines()[0]  # no header cut short
    (row,) = [line for line in dlq[1].splitlines() if TYPE in line]
    assert seeded[-1].startswith(row.split()[0])
    assert "the image is not a PNG" in row
    assert row.endswith("…")  # the long error is cut to the line, not wrapped
    assert any(QUEUE in line.split() for line in queues[1].splitlines())


@pytest.mark.parametrize(
    "flags", [["--json", "--output", "jsonl"], ["--wide", "--json"], ["--wide", "--output", "jsonl"], ["-o", "xml"]]
)
def test_contradicting_or_unknown_output_flags_are_refused(
    server: LiveServer, tmp_path: Path, flags: list[str]
) -> None:
    code, out, err = cli(server, "list", *flags, cwd=tmp_path)

    assert code == 2
    assert out == ""
    assert err


@ONE_BACKEND
def test_schedules_list_prints_json_lines_too(server: LiveServer, tmp_path: Path) -> None:
    with server.client() as http:
        for name in ("nightly", "hourly"):
            body = {"name": f"tables-{name}", "every": 3600, "task": {"type": TYPE}}
            assert http.post("/api/v1/schedules", json=body).status_code in (200, 201)
        expected = http.get("/api/v1/schedules").json()["schedules"]

    code, out, err = cli(server, "schedules", "list", "-o", "jsonl", cwd=tmp_path)

    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == expected
