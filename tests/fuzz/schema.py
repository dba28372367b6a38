"""docs/openapi.json loaded for schemathesis, configured for the fuzz tests, and the checks
every answer gets: schemathesis' own that hold for this API, and ours (invariants.py)."""

import itertools
import os
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from schemathesis import Case
from schemathesis.specs.openapi import checks

from tests.fuzz.conftest import ROLE_KEYS, fuzz_examples
from tests.fuzz.invariants import Snapshot, error_problems
from tests.helpers.live import LiveServer

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"

# positive_data_acceptance is left out on purpose: the document cannot say every rule (an
# opaque cursor, `worker_id` only with `next`, a webhook on a private address, history off),
# so a schema-valid request the server refuses with a 4xx in SPEC's shape is not a defect.
CHECKS = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
    checks.unsupported_method,
]
# allow_header_conformance is left out too: `/api/v1/tasks/bulk` also matches
# `/api/v1/tasks/{task_id}`, so its 405 truthfully allows GET and DELETE (a read of a task
# called "bulk"), which the document, listing POST alone there, does not say. The exact
# `Allow` (what that check found) is held by test_fuzz_findings.py.
# Long polls wait up to 60 s; a fuzzed poll waits at most this long, so a case is not a minute.
MAX_WAIT_S = 0.2
# Who asks: mostly the admin (deepest reach), also each narrower role and nobody.
CALLERS = ("admin", "admin", "admin", "producer", "worker", None)


def load(max_examples: int) -> Any:
    """The document with `max_examples` (scaled) fuzzed cases per operation, valid and invalid.
    The coverage phase (every boundary of every field: hundreds of cases an operation) runs
    in `make test-fuzz` only (TASKLINE_FUZZ_COVERAGE=1)."""
    schema = schemathesis.openapi.from_path(DOCUMENT)
    schema.config.generation.update(max_examples=fuzz_examples(max_examples), modes=["positive", "negative"])
    schema.config.phases.coverage.enabled = os.environ.get("TASKLINE_FUZZ_COVERAGE") == "1"
    return schema


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def auth(role: str | None) -> dict[str, str]:
    return {} if role is None else {"Authorization": f"Bearer {ROLE_KEYS[role]}"}


class Caller:
    """Sends cases to a live server as one caller after another and holds every answer to
    SPEC's rules, snapshotting the server around a request that could change something."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.admin = server.client(ROLE_KEYS["admin"])
        self._callers = itertools.cycle(CALLERS)
        self._last: Snapshot | None = None

    def close(self) -> None:
        self.admin.close()

    def call(self, case: Case, role: str | None = "admin") -> schemathesis.Response:
        if isinstance(case.query, dict) and _number(case.query.get("wait")) > MAX_WAIT_S:
            case.query["wait"] = MAX_WAIT_S
        return case.call(base_url=self.server.url, headers=auth(role), timeout=30)

    def check(self, case: Case, role: str | None = None) -> schemathesis.Response:
        """Call `case` as `role` (the next caller in turn if None) and check the answer."""
        role = next(self._callers) if role is None else role
        reads = case.method.upper() == "GET" and case.path != "/api/v1/poll"
        # The snapshot before: the last one taken still holds if nothing was changed since
        # (a refused request or a read), which spares most of the reading.
        last, self._last = self._last, None
        before = None if reads else (last or Snapshot.take(self.admin))
        response = self.call(case, role)
        headers = {name: ", ".join(values) for name, values in response.headers.items()}
        problems = error_problems(response.status_code, httpx.Headers(headers), response.content)
        if response.status_code >= 400 and before is not None:
            self._last = after = Snapshot.take(self.admin)
            # A worker refused for its task (404, 409) was still seen; one not let in was not.
            changes = before.changes_to(after, sightings=response.status_code in (404, 409))
            problems += [f"a refused request changed: {change}" for change in changes]
        elif reads:
            self._last = last
        if role == "admin":  # schemathesis' checks expect the full reach; others are ours alone
            case.validate_response(response, checks=CHECKS, headers=auth(role))
        assert not problems, f"{case.method} {case.formatted_path} as {role}: " + "; ".join(problems)
        if case.path.startswith("/api/v1/schedules") and case.method.upper() != "GET":
            self._pause_schedules()
        return response

    def _pause_schedules(self) -> None:
        """A fuzzed schedule submits tasks by itself as its ticks come, which the next snapshots
        would take for a refused request's doing: each is paused as soon as a case may have
        created or resumed one."""
        for schedule in self.admin.get("/api/v1/schedules").json()["schedules"]:
            if not schedule["paused"]:
                assert self.admin.post(f"/api/v1/schedules/{schedule['name']}/pause").status_code == 200
        self._last = None
