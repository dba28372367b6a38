"""The chaos workload: submits through the HTTP API (single and bulk; plain, slow, flaky and
doomed tasks; some scheduled, some with a webhook), and an observer that lists running tasks.

Both write down only what the server acknowledged or showed; a request that failed (a killed
or stopped server, Redis restarting) is counted and left: the task may or may not exist."""

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from taskline.wire import from_rfc3339
from tests.chaos.history import Kind, SeenRunning, Submitted

BULK_MAX = 100


@dataclass(slots=True)
class Mix:
    """How tasks are drawn: the weights of each kind, and the share scheduled or with a webhook."""

    kinds: dict[Kind, float] = field(default_factory=lambda: {"ok": 0.6, "slow": 0.05, "flaky": 0.25, "doomed": 0.1})
    scheduled: float = 0.1
    webhook: float = 0.1
    slow_s: float = 0.5


def draw(rng: random.Random, n: int, mix: Mix, webhook_url: str) -> tuple[dict[str, Any], Submitted]:
    """One task spec, and what its acknowledgement will be written down as (without the id)."""
    kind: Kind = rng.choices(list(mix.kinds), weights=list(mix.kinds.values()))[0]
    payload: dict[str, Any] = {"n": n}
    max_retries = rng.choice([0, 1, 2, 3, 4])
    if kind == "slow":
        payload["seconds"] = mix.slow_s
    elif kind == "flaky":
        payload["fail_times"] = rng.choice([1, 2])
        max_retries = payload["fail_times"] + rng.choice([0, 1, 2])
    spec: dict[str, Any] = {"type": f"chaos.{kind}", "payload": payload, "max_retries": max_retries}
    if rng.random() < mix.scheduled:
        spec["delay"] = round(rng.uniform(0.1, 2.0), 3)
    webhook = rng.random() < mix.webhook
    if webhook:
        spec["webhook"] = webhook_url
    return spec, Submitted("", kind, max_retries, webhook=webhook)


class Submitter:
    """Submits `total` tasks at about `rate` a second, over the API instances at random."""

    def __init__(self, urls: list[str], total: int, rate: float, seed: int, webhook_url: str, mix: Mix) -> None:
        self.urls = urls
        self.total = total
        self.rate = rate
        self.rng = random.Random(seed)
        self.webhook_url = webhook_url
        self.mix = mix
        self.submitted: list[Submitted] = []
        self.unacknowledged = 0  # tasks in requests whose answer never came or was an error
        self.requests = {"single": 0, "bulk": 0}
        self.errors: dict[str, int] = {}

    def run(self, stop: threading.Event) -> None:
        clients = {url: httpx.Client(base_url=url, timeout=30) for url in self.urls}
        began = time.monotonic()
        n = 0
        try:
            while n < self.total and not stop.is_set():
                ahead = n / self.rate - (time.monotonic() - began)
                if ahead > 0:
                    stop.wait(ahead)  # keeps the rate: the run's length, not an order, depends on it
                size = 1 if self.rng.random() < 0.3 else self.rng.randint(2, BULK_MAX)
                size = min(size, self.total - n)
                drawn = [draw(self.rng, n + i, self.mix, self.webhook_url) for i in range(size)]
                client = clients[self.rng.choice(self.urls)]
                if self._send(client, drawn):
                    n += size
                else:
                    stop.wait(0.1)  # paces the asking while a server restarts: no busy loop of refusals
        finally:
            for client in clients.values():
                client.close()

    def _send(self, client: httpx.Client, drawn: list[tuple[dict[str, Any], Submitted]]) -> bool:
        specs = [spec for spec, _ in drawn]
        sent_at = time.time()
        try:
            if len(specs) == 1:
                self.requests["single"] += 1
                response = client.post("/api/v1/tasks", json=specs[0])
                tasks = [response.json()] if response.status_code in (200, 201) else None
            else:
                self.requests["bulk"] += 1
                response = client.post("/api/v1/tasks/bulk", json=specs)
                tasks = response.json()["tasks"] if response.status_code == 201 else None
            if tasks is None:
                self._error(f"{response.status_code} {response.json()['error']['code']}", len(specs))
                return False
        except (httpx.HTTPError, ValueError) as exc:
            self._error(type(exc).__name__, len(specs))
            return False
        for (spec, wanted), task in zip(drawn, tasks, strict=True):
            if (task["type"], task["payload"]) != (spec["type"], spec["payload"]):
                raise AssertionError(f"a bulk answer out of request order: {spec} got {task}")
            scheduled = from_rfc3339(task["scheduled_at"]) if "delay" in spec else None
            if scheduled is not None and scheduled < sent_at + spec["delay"] - 0.01:
                raise AssertionError(f"delay {spec['delay']} gave scheduled_at before its time: {task}")
            self.submitted.append(
                Submitted(task["id"], wanted.kind, wanted.max_retries, webhook=wanted.webhook, scheduled_at=scheduled)
            )
        return True

    def _error(self, what: str, tasks: int) -> None:
        self.unacknowledged += tasks
        self.errors[what] = self.errors.get(what, 0) + 1


class Observer:
    """Lists running tasks every `every_s`, writing down each as seen at the request's start."""

    def __init__(self, urls: list[str], every_s: float) -> None:
        self.urls = urls
        self.every_s = every_s
        self.seen: list[SeenRunning] = []
        self.looks = 0

    def run(self, stop: threading.Event) -> None:
        rng = random.Random(0)
        with httpx.Client(timeout=2) as client:
            while not stop.wait(self.every_s):  # pacing: a look every so often is the point
                at = time.time()
                try:
                    response = client.get(
                        f"{rng.choice(self.urls)}/api/v1/tasks", params={"state": "running", "limit": 500}
                    )
                except httpx.HTTPError:
                    continue  # a killed or stopped server: nothing seen
                if response.status_code != 200:
                    continue
                self.looks += 1
                for task in response.json()["tasks"]:
                    started = from_rfc3339(task["started_at"])
                    if task["state"] == "running" and started is not None:
                        self.seen.append(SeenRunning(at, task["id"], task["attempts"], started))
