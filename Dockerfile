# syntax=docker/dockerfile:1
# Taskline's image: `taskline serve` by default; `taskline worker ...` with another command.
#   docker build -t taskline .
#   docker run -p 127.0.0.1:8080:8080 -v taskline-data:/data taskline            # SQLite in /data
#   docker run -e TASKLINE_REDIS_URL=redis://redis:6379/0 taskline worker      # built-in handlers
# compose.yaml runs the whole set; tests/deploy/test_dockerfile.py runs this ENTRYPOINT and CMD,
# with this ENV, as a process, and checks that /health answers and the HEALTHCHECK passes.

# Build stage: the taskline wheel and every dependency's wheel (all have manylinux wheels for
# CPython 3.11, so no compiler is needed). Only pyproject.toml, README.md (the package's readme)
# and src/ are copied, so an edit elsewhere does not rebuild it.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --wheel-dir /wheels ".[postgres]"

# Runtime stage: the wheels installed into a slim Python, without pip's cache or the wheels
# themselves (bind-mounted from the build stage, so they leave no layer behind). No version pins
# here (hadolint's DL3013): --no-index installs exactly the wheels the build stage made.
FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "taskline[postgres]"
# A fixed uid, so a volume's owner and Kubernetes' runAsNonRoot can be checked against it.
# /app is the working directory, where a worker finds a mounted handler module
# (`taskline worker tasks:app` imports from it); /data holds the SQLite file when no Redis is set.
RUN groupadd --system --gid 10001 taskline \
    && useradd --system --uid 10001 --gid taskline --home-dir /app --shell /usr/sbin/nologin taskline \
    && mkdir -p /app /data \
    && chown taskline:taskline /data
WORKDIR /app
USER 10001:10001
# A container's API must be reachable from outside it: bind every interface, not loopback.
ENV TASKLINE_HOST=0.0.0.0 TASKLINE_PORT=8080 TASKLINE_SQLITE_PATH=/data/taskline.db
EXPOSE 8080
# The slim image has no curl: Python asks /health on the port the server binds. A 503 (the
# store unreachable) raises, so the check fails. A worker container has no /health: compose.yaml
# turns this check off for its workers.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TASKLINE_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["taskline"]
CMD ["serve"]
