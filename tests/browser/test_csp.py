"""The browser enforces the dashboard's Content-Security-Policy: markup that slipped into the
page (as an XSS would put it there) cannot run script, inline or from another origin. The
policy is read from the page's own header, so this checks what is served, not a copy."""

from playwright.async_api import Page

from taskline.dashboard.routes import CONTENT_SECURITY_POLICY
from tests.browser.conftest import PageTrouble
from tests.browser.views import visit
from tests.helpers.live import LiveServer

SLIPPED_IN = """() => {
    window.ranInline = false;
    const inline = document.createElement("script");
    inline.textContent = "window.ranInline = true";
    document.body.append(inline);
    const handler = document.createElement("img");
    handler.setAttribute("onerror", "window.ranHandler = true");
    handler.src = "data:,not-an-image";
    document.body.append(handler);
    return new Promise((resolve) => handler.addEventListener("error", resolve));
}"""


async def test_script_slipped_into_the_page_does_not_run(server: LiveServer, page: Page, trouble: PageTrouble) -> None:
    trouble.allow("Content Security Policy")  # the browser reports each refusal as a console error
    response = await page.goto(f"{server.url}/")
    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    await visit(page, server.url, "/")

    await page.evaluate(SLIPPED_IN)

    assert await page.evaluate("() => [window.ranInline, window.ranHandler]") == [False, None]
    assert any("Content Security Policy" in error for error in trouble.console_errors)
