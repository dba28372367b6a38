"""docs/openapi.json is what the code generates (run `make openapi` after changing a route)."""

from pathlib import Path

from taskline.api.openapi import render
from taskline.api.schemas import TaskSubmission
from taskline.core.spec import FIELDS

DOCUMENT = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_the_committed_document_is_current() -> None:
    assert DOCUMENT.read_text() == render(), "docs/openapi.json is stale: run `make openapi`"


def test_the_documented_submit_body_has_the_validators_fields() -> None:
    assert set(TaskSubmission.model_fields) == FIELDS
