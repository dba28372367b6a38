"""The README shows the same capture of `taskline top` as docs/top.txt (`make top-capture` writes both)."""

from tests.e2e.test_cli_live import README, readme_with_capture
from tests.helpers.live import REPO_ROOT


def test_the_readme_shows_docs_top_txt() -> None:
    readme = README.read_text()
    capture = (REPO_ROOT / "docs" / "top.txt").read_text()

    assert readme_with_capture(readme, capture) == readme
