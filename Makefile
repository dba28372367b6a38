# The two commands a newcomer needs: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-browser screenshots lint fmt typecheck unit bench bench-peers services browser-deps openapi clean

# Installs are locked: every dependency of Taskline and of its tests (every extra, `dev` included) at the
# version and with the hashes that $(LOCK) pins (pip's hash-checking mode refuses anything else), then
# Taskline itself, editable, without dependencies. `make lock` regenerates $(LOCK) from pyproject.toml;
# tests/unit/test_lock.py fails while the two disagree.
LOCK       := requirements.lock
UV_VERSION := 0.13.9
LOCK_ARGS  ?=

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# uv (a pinned release, from PyPI into the venv) resolves pyproject.toml's dependencies and every extra
# for CPython 3.11 on Linux x86_64, whatever machine runs it, and writes every file's hash. It keeps
# each pin of $(LOCK) that still fits: `make lock LOCK_ARGS=--upgrade` takes the newest releases,
# LOCK_ARGS='--upgrade-package NAME' one package's newest.
.PHONY: lock
lock:
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q 'uv==$(UV_VERSION)'
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --generate-hashes --custom-compile-command 'make lock' \
		--quiet $(LOCK_ARGS) -o $(LOCK)

run: $(STAMP)
	$(VENV)/bin/taskline serve

# Tests start their own redis-server and PostgreSQL on free loopback ports; this only
# makes sure the Debian packages that provide them are on the machine.
services:
	@command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq postgresql; }

# The dashboard's browser tests drive Debian's Chromium through Playwright (a `dev` extra); Playwright's
# own browser download is never used, so nothing here runs `playwright install`.
browser-deps:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

test-browser: $(STAMP) browser-deps
	$(PY) -m pytest -q tests/browser

# Refresh docs/dashboard-desktop.png and docs/dashboard-phone.png (the README shows them); a plain
# test run takes the same screenshots into a temporary directory, so it leaves the tree clean.
screenshots: $(STAMP) browser-deps
	DASHBOARD_SCREENSHOTS_DIR=docs $(PY) -m pytest -q tests/browser/test_screenshots.py

# `taskline top` and `tail` in a real pseudo-terminal against a live server (tests/e2e/test_cli_live.py);
# `make top-capture` refreshes docs/top.txt, the README's capture of `top`, the same way.
.PHONY: test-cli-live top-capture
test-cli-live: $(STAMP)
	$(PY) -m pytest -q tests/e2e/test_cli_live.py tests/unit/test_top_view.py tests/unit/test_top_capture.py \
		tests/integration/client/test_workers.py

top-capture: $(STAMP)
	TOP_CAPTURE_DIR=docs $(PY) -m pytest -q tests/e2e/test_cli_live.py -k test_capture_of_top

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/hadolint Dockerfile

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: $(STAMP) services browser-deps clients-deps lint typecheck
	$(PY) -m pytest -q

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

# The suite is mostly CPU (a server process per fixture), so `make test` and the groups below
# run on every core: each xdist worker has its own redis-server, free ports and tmp dirs, and
# loadscope keeps a module's tests, and the servers they share, on one worker.
test test-contract test-integration test-e2e test-scale test-history test-fuzz: export PYTEST_ADDOPTS += -n auto --dist loadscope

# test-cluster runs without xdist: test_cluster.py shares one cluster, and test_failover.py's tests
# start (and kill nodes of) clusters of their own, six redis-servers each: on 2 cores, one at a time.
.PHONY: test-unit test-contract test-integration test-e2e test-scale test-cluster test-history test-postgres
test-unit: unit
test-contract test-integration test-e2e test-scale test-cluster test-history: $(STAMP) services
	$(PY) -m pytest -q tests/$(@:test-%=%)

# Issue 14's tables: listings that fit 80 columns, ids abbreviated as git does, on both backends.
CLI_TABLES_TESTS := tests/unit/test_id_prefix.py tests/contract/test_find_ids.py \
	tests/integration/api/test_short_ids_api.py tests/e2e/test_cli_tables.py
.PHONY: test-cli-tables
test-cli-tables: $(STAMP) services
	$(PY) -m pytest -q -n 2 --dist loadscope $(CLI_TABLES_TESTS)

# The container files (Dockerfile, compose.yaml, deploy/prometheus.yml) checked without a container
# engine (tests/deploy): compose's commands, settings and ports against the CLI and the settings,
# the image's ENTRYPOINT + CMD run as a process, and compose's set (Redis, PostgreSQL, two APIs, two
# workers) run as processes with each service's own command and environment. Seconds; `make test`
# runs them too.
.PHONY: test-compose
test-compose: $(STAMP) services
	$(PY) -m pytest -q tests/deploy

# PostgreSQL history (tests/history: a real PostgreSQL from initdb + pg_ctl, one per xdist worker).
test-postgres: test-history

# Issue 13's periodic schedules (SPEC §10): the pure model (DST both ways), the contract on every
# backend (two schedulers racing, one down across ticks), the API and /ws on real servers, and
# "every 1 s" across two servers on one Redis; then their consumers: both Python clients on every
# target, the README example, `taskline schedules` and the dashboard view. Tens of seconds;
# `make test` runs them too.
SCHEDULE_TESTS := tests/unit/test_schedules.py tests/contract/test_schedules.py \
	tests/integration/api/test_schedules_api.py \
	tests/integration/client/test_schedules.py tests/integration/client/test_readme_schedules.py \
	tests/e2e/test_cli_schedules.py tests/browser/test_schedules.py

.PHONY: test-schedules
test-schedules: $(STAMP) services browser-deps
	$(PY) -m pytest -q -n 2 --dist loadscope $(SCHEDULE_TESTS)

# Reliability and security (docs/reliability.md, SECURITY.md): one group alone, or its long form.
# `make test` runs every group but the soak in a short form.

# Issue 12's fault injection (tests/chaos/, docs/reliability.md "Chaos"): the full form, 100,000
# tasks per backend under kills, stops and Redis restarts, one backend after the other; the short
# form runs inside `make test`. CHAOS_TASKS and CHAOS_ARGS (say --seed 7) change the run. Minutes.
CHAOS_TASKS ?= 100000
CHAOS_ARGS  ?=
.PHONY: chaos
chaos: $(STAMP) services
	$(PY) -m tests.chaos.run --backend redis --tasks $(CHAOS_TASKS) $(CHAOS_ARGS)
	$(PY) -m tests.chaos.run --backend sqlite --tasks $(CHAOS_TASKS) $(CHAOS_ARGS)

# Issue 12's differential test (tests/differential): SQLite and Redis driven through the same random
# operations on one frozen clock, compared after every step. `make test` runs a short form (20 runs
# of 25 steps); this one runs 300 runs of 60 steps. Sizes: TASKLINE_DIFFERENTIAL_EXAMPLES, _STEPS.
.PHONY: test-differential
test-differential: $(STAMP) services
	TASKLINE_DIFFERENTIAL_EXAMPLES=$${TASKLINE_DIFFERENTIAL_EXAMPLES:-300} \
	TASKLINE_DIFFERENTIAL_STEPS=$${TASKLINE_DIFFERENTIAL_STEPS:-60} \
		$(PY) -m pytest -q tests/differential

# Issue 12's Redis failures (docs/reliability.md "Redis failures"): every route with Redis stopped and
# black-holed, workers through outages, a bulk across queues killed at each phase of its commit, the
# history flag's shard down. `make test` runs them too, the bulk killed at three of its seven points;
# this runs just these, at every point, on two workers.
REDIS_FAILURE_TESTS := tests/integration/api/test_outage.py tests/integration/api/test_outage_routes.py \
	tests/integration/worker/test_redis_outage.py tests/integration/redis/test_bulk_faults.py \
	tests/integration/redis/test_history_flag.py \
	tests/cluster/test_failover.py::test_the_history_flags_shard_down_leaves_the_other_shards_scripts_running

.PHONY: test-redis-failures
test-redis-failures: $(STAMP) services
	REDIS_FAILURES_FULL=1 $(PY) -m pytest -q -n 2 --dist loadscope $(REDIS_FAILURE_TESTS)

# Issue 12's fuzzing (tests/fuzz; docs/reliability.md "Fuzzing"): `make test` runs a small
# form; this one FUZZ_SCALE times the cases of every fuzzer, and schemathesis' coverage phase
# (every boundary of every field, hundreds of cases an operation). Several minutes.
.PHONY: test-fuzz
FUZZ_SCALE ?= 20
test-fuzz: $(STAMP) services
	TASKLINE_FUZZ_SCALE=$(FUZZ_SCALE) TASKLINE_FUZZ_COVERAGE=1 \
		$(PY) -m pytest -q --timeout 1800 tests/fuzz tests/integration/api/test_fuzz_findings.py

# SECURITY.md's claims: every test file it names (tests/unit/test_security_md.py checks that
# each claim names a test and that each named test exists). They also run in `make test`.
.PHONY: test-security
test-security: export PYTEST_ADDOPTS += -n auto --dist loadscope
test-security: $(STAMP) services browser-deps
	$(PY) -m pytest -q $$(grep -o 'tests/[a-z_/]*\.py' SECURITY.md | sort -u)

# The soak (docs/reliability.md "Soak"): steady load for an hour on real redis-server, `taskline serve` and
# `taskline worker` processes, a worker killed every ~10 minutes and the API once; memory and latency
# over time into docs/soak.json, docs/soak.svg and docs/soak-table.md; exits non-zero when memory grows
# after warm-up or latency drifts. SOAK_ARGS="--minutes 2 --out /tmp/soak" for a short trial.
.PHONY: soak
SOAK_ARGS ?=
soak: $(STAMP) services
	$(PY) -m bench.soak $(SOAK_ARGS)

bench: $(STAMP) services
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(PY) -m bench.engine
	$(PY) -m bench.api

# Issue 11's scaling figures (docs/benchmarks.md "Scaling out", "Retention at scale", "Sizing"): real
# serve and worker processes on one Redis, then a million expirations trimmed under load. Minutes.
.PHONY: bench-scale
bench-scale: $(STAMP) services
	$(PY) -m bench.scale
	$(PY) -m bench.scale --commands
	$(PY) -m bench.retention

# Taskline against Celery, RQ, arq, Dramatiq, Huey, Taskiq, SAQ and BullMQ (bench/peers/README.md).
# The peers live in a virtualenv of their own, Taskline installed editable into it.
PEERS_VENV  := bench/peers/.venv
PEERS_STAMP := $(PEERS_VENV)/.installed
PEERS_ARGS  ?=

$(PEERS_STAMP): bench/peers/requirements.txt pyproject.toml
	test -x $(PEERS_VENV)/bin/python || python3 -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install -q --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install -q -r bench/peers/requirements.txt -e .
	touch $(PEERS_STAMP)

bench/peers/bullmq/node_modules/.installed: bench/peers/bullmq/package-lock.json
	cd bench/peers/bullmq && npm ci --no-audit --no-fund
	touch $@

bench-peers: $(PEERS_STAMP) bench/peers/bullmq/node_modules/.installed services
	$(PEERS_VENV)/bin/python -m bench.peers $(PEERS_ARGS)

# The clients in other languages (tests/clients start a live server and run each one's own tests;
# they fail, not skip, without their toolchains). clients-deps puts those on the machine: Debian's Go,
# Node (which the machine image has; Debian's otherwise) and clients/typescript's devDependencies from
# its lock file.
TS_CLIENT := clients/typescript
.PHONY: clients-deps test-clients-ts test-clients-go
clients-deps: $(TS_CLIENT)/node_modules/.installed
	@command -v go >/dev/null || { apt-get update -qq && apt-get install -y -qq golang-go; }

$(TS_CLIENT)/node_modules/.installed: $(TS_CLIENT)/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	cd $(TS_CLIENT) && npm ci --no-audit --no-fund
	touch $@

# The TypeScript client: `npm test` (Node's test runner) against a live server, and the README's examples.
test-clients-ts: $(STAMP) clients-deps
	$(PY) -m pytest -q tests/clients/test_typescript.py

# The Go client: go vet, gofmt, `go test ./...` against a live server, the README's examples.
test-clients-go: $(STAMP) clients-deps
	$(PY) -m pytest -q tests/clients/test_go.py

# Every client test: the TypeScript and Go clients' own, and one batch shared by a Python, a
# TypeScript and a Go worker (tests/clients/test_shared_batch.py: each task done exactly once).
.PHONY: test-clients
test-clients: $(STAMP) clients-deps
	$(PY) -m pytest -q -n 2 --dist loadscope tests/clients

openapi: $(STAMP)
	$(PY) -m taskline.api.openapi docs/openapi.json

clean:
	rm -rf $(VENV) $(PEERS_VENV) bench/peers/bullmq/node_modules $(TS_CLIENT)/node_modules $(TS_CLIENT)/dist $(TS_CLIENT)/build .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
