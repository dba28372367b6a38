"""The committed OpenAPI document: `python -m taskline.api.openapi` rewrites docs/openapi.json."""

import json
import sys
from pathlib import Path
from typing import Any

from taskline.api.app import create_app
from taskline.config import Settings


def openapi_document() -> dict[str, Any]:
    """The document the app serves at /openapi.json, independent of local settings."""
    return create_app(Settings()).openapi()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/openapi.json")
    target.write_text(render())
    print(f"wrote {target}")
