"""Which blocking HTTP client a sequential producer should use: one submit after another
against a real `taskline serve` on Redis, each client in turn, rounds alternating.

Prints per client the submits/s (wall) and the client process's CPU per submit (the server
runs in its own process, so this is the client's own cost), median over rounds.

    python -m bench.sync_http [--tasks 500] [--rounds 5] [--clients http.client,httpx.Client]

urllib3 is not a dependency of Taskline: `pip install urllib3` to measure it, or leave it out
of `--clients`.
"""

import argparse
import http.client
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpcore
import httpx
import orjson
from tests.helpers.live import live_server
from tests.helpers.servers import RedisServer

from taskline import Client

PATH = "/api/v1/tasks"
HEADERS = {"Content-Type": "application/json", "User-Agent": "bench"}
Submit = Callable[[bytes], Any]


def httpx_client(url: str) -> tuple[Submit, Callable[[], None]]:
    client = httpx.Client(base_url=url, headers=HEADERS)
    return (lambda body: client.post(PATH, content=body).content), client.close


def httpcore_pool(url: str) -> tuple[Submit, Callable[[], None]]:
    pool = httpcore.ConnectionPool()
    target = url + PATH
    return (lambda body: pool.request("POST", target, headers=HEADERS, content=body).content), pool.close


def urllib3_pool(url: str) -> tuple[Submit, Callable[[], None]]:
    import urllib3  # optional: installed for this measure only

    pool = urllib3.HTTPConnectionPool(*url.removeprefix("http://").split(":"), maxsize=1)
    return (lambda body: pool.urlopen("POST", PATH, body=body, headers=HEADERS).data), pool.close


def bare_http_client(url: str) -> tuple[Submit, Callable[[], None]]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port))

    def submit(body: bytes) -> bytes:
        connection.request("POST", PATH, body=body, headers=HEADERS)
        return connection.getresponse().read()

    return submit, connection.close


def taskline_client(url: str) -> tuple[Submit, Callable[[], None]]:
    client = Client(url)
    return (lambda body: client.submit("bench", orjson.loads(body)["payload"])), client.close


CLIENTS = {
    "taskline.Client": taskline_client,
    "httpx.Client": httpx_client,
    "httpcore": httpcore_pool,
    "urllib3": urllib3_pool,
    "http.client": bare_http_client,
}


def one_round(
    open_client: Callable[[str], tuple[Submit, Callable[[], None]]], url: str, tasks: int
) -> tuple[float, float]:
    submit, close = open_client(url)
    try:
        submit(orjson.dumps({"type": "bench", "payload": {"n": -1}}))  # connect outside the timing
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(tasks):
            submit(orjson.dumps({"type": "bench", "payload": {"n": n}}))
        return tasks / (time.perf_counter() - wall), (time.process_time() - cpu) / tasks * 1e6
    finally:
        close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    args = parser.parse_args()
    names = args.clients.split(",")
    rates: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp))
        redis.start()
        try:
            with live_server(Path(tmp), redis_url=redis.url, log_level="warning") as server:
                for _ in range(args.rounds):
                    for name in names:
                        rate, cpu = one_round(CLIENTS[name], server.url, args.tasks)
                        rates[name].append(rate)
                        cpus[name].append(cpu)
        finally:
            redis.kill()
    base = statistics.median(rates[names[0]])
    print(f"{'client':<16} {'submits/s':>10} {'vs first':>9} {'client CPU µs/submit':>21}")
    for name in names:
        rate = statistics.median(rates[name])
        print(f"{name:<16} {rate:>10.0f} {rate / base:>8.2f}× {statistics.median(cpus[name]):>21.0f}")


if __name__ == "__main__":
    main()
