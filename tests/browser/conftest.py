"""Browser fixtures: a real `taskline serve` (one per session, plus one for each module that needs
its own), one headless Chromium per session, and pages
whose console errors, uncaught exceptions and dialogs fail the test that caused them.

Playwright's async API, not its sync one: the sync API keeps an event loop marked running in the
main thread for as long as it lives, and a session-wide browser would then break every asyncio
test that runs after this package. The async one lives on pytest-asyncio's session loop instead.
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Dialog, Error, Page, ViewportSize, async_playwright, expect

from tests.helpers.live import LiveServer, live_server

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, from `make browser-deps`; never Playwright's download
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}

# Two cores shared with a server, a worker and the browser: waits are for events, with room to spare.
expect.set_options(timeout=15_000)

PageOpener = Callable[..., Awaitable[Page]]


class PageTrouble:
    """What a page must never do: log a console error, throw uncaught, or open a dialog.

    A test that provokes an expected browser-level network error (a 401 while no key is set, a
    refused connection while the proxy is cut) allows it by a fragment of its text; nothing
    allows an uncaught exception or a dialog.
    """

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self._allowed: list[str] = []

    def allow(self, *fragments: str) -> None:
        self._allowed.extend(fragments)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '?')})")

    def on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}")

    async def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()  # a dialog left open would block the page until the test times out

    def problems(self) -> list[str]:
        console = [text for text in self.console_errors if not any(a in text for a in self._allowed)]
        return (
            [f"console error: {t}" for t in console]
            + [f"uncaught: {t}" for t in self.page_errors]
            + [f"dialog opened: {t}" for t in self.dialogs]
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test itself (not its teardown) when its pages misbehaved while it ran."""
    result = yield
    trouble = getattr(item, "funcargs", {}).get("trouble")
    if isinstance(trouble, PageTrouble) and (problems := trouble.problems()):
        pytest.fail("the page misbehaved:\n  " + "\n  ".join(problems), pytrace=False)
    return result


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: run `make browser-deps` (Debian package chromium)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield chromium
        await chromium.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """An open (no API keys) server on SQLite, shared by the modules whose tests each seed and look
    at their own tasks (a start costs seconds on two busy cores); a module that needs exact
    counts or other settings starts its own under the same name."""
    # A lease that outlives the session: a task a test leased must not fall back to retrying (and
    # so change the counts) while another test compares the page with the API.
    with live_server(tmp_path_factory.mktemp("dashboard"), lease_seconds="3600") as live:
        yield live


@pytest.fixture
def trouble() -> PageTrouble:
    return PageTrouble()


@pytest.fixture
async def open_page(browser: Browser, trouble: PageTrouble) -> AsyncIterator[PageOpener]:
    """Open pages in fresh browser contexts (own storage, light scheme), all watched by `trouble`."""
    contexts = []

    async def opener(viewport: ViewportSize = DESKTOP) -> Page:
        context = await browser.new_context(viewport=viewport, color_scheme="light")
        contexts.append(context)
        page = await context.new_page()
        page.on("console", trouble.on_console)
        page.on("pageerror", trouble.on_page_error)
        page.on("dialog", trouble.on_dialog)
        return page

    yield opener
    for context in contexts:
        await context.close()


@pytest.fixture
async def page(open_page: PageOpener) -> Page:
    """A desktop-sized page."""
    return await open_page()
