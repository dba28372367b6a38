"""The repository's Dockerfile and .dockerignore, read as Docker reads them, for tests that
check the image without a container engine (tests/deploy)."""

import json
import re
import shlex
from dataclasses import dataclass, field

from tests.helpers.live import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ENV...
    args: str  # the rest of the instruction, continuation lines joined


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def args(self, keyword: str) -> str:
        """The last `keyword` instruction's arguments (the one in force); it must be there."""
        instruction = self.last(keyword)
        assert instruction is not None, f"no {keyword} in the stage"
        return instruction.args

    def env(self) -> dict[str, str]:
        """Every ENV of the stage, later ones winning (`$VAR` references are not expanded)."""
        env: dict[str, str] = {}
        for instruction in self.all("ENV"):
            words = shlex.split(instruction.args)
            if "=" not in words[0]:  # the legacy `ENV NAME value with spaces`
                env[words[0]] = instruction.args.split(None, 1)[1]
                continue
            for word in words:
                name, _, value = word.partition("=")
                env[name] = value
        return env


def stages(text: str | None = None) -> list[Stage]:
    """The Dockerfile's stages in order (the last one is the image)."""
    found: list[Stage] = []
    for instruction in instructions(DOCKERFILE.read_text() if text is None else text):
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            words = [w for w in words if not w.startswith("--")]  # --platform=...
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            found.append(Stage(base=words[0], name=name))
        elif found:
            found[-1].instructions.append(instruction)
    return found


def instructions(text: str) -> list[Instruction]:
    """Instructions with `\\` continuations joined and comment lines dropped, as Docker does
    (a comment line inside a continued instruction is dropped too)."""
    found: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, args = whole.partition(" ")
        found.append(Instruction(keyword.upper(), args.strip()))
    return found


def command(args: str) -> list[str]:
    """ENTRYPOINT, CMD or RUN arguments as argv: the JSON (exec) form as written, the shell
    form through `/bin/sh -c`."""
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list)
        return [str(word) for word in value]
    return ["/bin/sh", "-c", args]


def healthcheck(stage: Stage) -> tuple[dict[str, str], list[str]] | None:
    """The HEALTHCHECK's options and its command as argv; None when there is none (or NONE)."""
    instruction = stage.last("HEALTHCHECK")
    if instruction is None or instruction.args.upper() == "NONE":
        return None
    options: dict[str, str] = {}
    rest = instruction.args
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, _, value = option[2:].partition("=")
        options[name] = value
        rest = rest.lstrip()
    keyword, _, args = rest.partition(" ")
    assert keyword.upper() == "CMD", f"HEALTHCHECK needs CMD, got {rest!r}"
    return options, command(args.strip())


def ignored(path: str, patterns: list[str] | None = None) -> bool:
    """Whether .dockerignore keeps `path` (relative, `/`-separated) out of the build context.

    Docker's rule (moby/patternmatcher): the last pattern that matches the path or one of its
    parent directories decides; a `!` pattern takes the path back in; `*` and `?` stay within
    one path segment and `**` crosses any number of them.
    """
    if patterns is None:
        patterns = dockerignore_patterns()
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    decided = False
    for pattern in patterns:
        exclusion = pattern.startswith("!")
        regex = _regex(pattern[1:] if exclusion else pattern)
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            decided = not exclusion
    return decided


def dockerignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def _regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    pattern = pattern.lstrip("/")
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)
