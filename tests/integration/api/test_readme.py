"""The README's quick start works as printed: its curl block runs against a live server."""

import json
import re
import subprocess
from pathlib import Path

from tests.helpers.live import LiveServer

README = Path(__file__).parents[3] / "README.md"


def quickstart_block() -> str:
    match = re.search(r"<!-- quickstart.*?-->\n```sh\n(.*?)```", README.read_text(), re.S)
    assert match, "README.md lost its quickstart block"
    return match.group(1)


def json_documents(text: str) -> list[object]:
    decoder, documents, at = json.JSONDecoder(), [], 0
    text = text.strip()
    while at < len(text):
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
        while at < len(text) and text[at].isspace():
            at += 1
    return documents


def test_the_quickstart_curl_lines_work_as_printed(server: LiveServer, tmp_path: Path) -> None:
    script = quickstart_block().replace("http://127.0.0.1:8080", server.url)

    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True)

    assert run.returncode == 0, run.stderr
    submitted, completed = json_documents(run.stdout)  # curl adds no newline between bodies
    assert (submitted["state"], submitted["type"]) == ("pending", "email")
    assert completed["id"] == submitted["id"]
    assert (completed["state"], completed["result"]) == ("completed", {"sent": True})
