"""SECURITY.md's promise: each claim points at a test. Every row of its claim tables names at
least one test, and every test it names exists (a renamed or deleted test fails here)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECURITY = ROOT / "SECURITY.md"
REFERENCE = re.compile(r"`((?:tests/[\w/]+\.py)?)(?:::(\w+))?`")


def claim_rows() -> list[str]:
    rows = [line for line in SECURITY.read_text().splitlines() if line.startswith("| ")]
    return [row for row in rows if not row.startswith(("| claim", "|---"))]


def references(row: str) -> list[tuple[str, str | None]]:
    """(path, test name or None) for each `path::name`, `::name` (the previous path) or `path`."""
    found: list[tuple[str, str | None]] = []
    path = ""
    for named_path, name in REFERENCE.findall(row.rsplit(" | ", 1)[-1]):
        path = named_path or path
        if path:
            found.append((path, name or None))
    return found


def test_every_claim_names_a_test() -> None:
    rows = claim_rows()

    assert len(rows) >= 20
    assert [row for row in rows if not references(row)] == []


def test_every_test_named_exists() -> None:
    missing = []
    for row in claim_rows():
        for path, name in references(row):
            source = ROOT / path
            if not source.is_file():
                missing.append(path)
            elif name is not None and not re.search(rf"^(async )?def {name}\(", source.read_text(), re.MULTILINE):
                missing.append(f"{path}::{name}")

    assert missing == []
