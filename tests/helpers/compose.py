"""compose.yaml read as Docker Compose reads it (merge keys resolved, short and long forms), for
tests/deploy: which services are built from this repository's Dockerfile, what each runs, with
what environment, on what it depends and what it mounts."""

import shlex
from typing import Any

import yaml

from tests.helpers import dockerfile
from tests.helpers.live import REPO_ROOT

COMPOSE: dict[str, Any] = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
IMAGE = dockerfile.stages()[-1]


def built_here(service: dict[str, Any]) -> bool:
    """Built from this repository's Dockerfile (`build: .`, or a build mapping naming it)."""
    build = service.get("build")
    if isinstance(build, dict):
        return build.get("context", ".") == "." and build.get("dockerfile", "Dockerfile") == "Dockerfile"
    return build == "."


def command_args(service: dict[str, Any]) -> list[str]:
    """The arguments after the ENTRYPOINT: the service's `command`, else the image's CMD."""
    command = service.get("command", dockerfile.command(IMAGE.args("CMD")))
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """The mapping form or the list form (`NAME=value`) of `environment`."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {
        name: "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in env.items()
    }


TASKLINE = sorted(name for name, service in SERVICES.items() if built_here(service))
APIS = [name for name in TASKLINE if command_args(SERVICES[name])[0] == "serve"]
WORKERS = [name for name in TASKLINE if command_args(SERVICES[name])[0] == "worker"]


def by_image(prefix: str) -> list[str]:
    return sorted(name for name, service in SERVICES.items() if str(service.get("image", "")).startswith(prefix))


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Each dependency with its condition (the list form means `service_started`)."""
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


def mounts(name: str) -> dict[str, str]:
    """Container path → source (a named volume or a host path) for the short volume syntax."""
    found = {}
    for volume in SERVICES[name].get("volumes", []):
        source, target = str(volume).split(":")[:2]
        found[target] = source
    return found


def named_volumes() -> set[str]:
    return set(COMPOSE.get("volumes") or {})
