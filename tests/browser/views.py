"""The dashboard's views as a test reaches them: hash routes (SPEC §7, the brief's DOM contract)
and the element each view shows once it has drawn, to wait on before looking at it."""

from playwright.async_api import Locator, Page

XSS = "<img src=x onerror=alert(1)>"

# Each route, with a test id that is on screen once the view has drawn (None: the view has no
# element of its own in the contract; its nav link is waited on instead).
VIEWS: dict[str, str | None] = {
    "/": "count-total",
    "/live": "event-list",
    "/workers": None,
    "/queues": None,
    "/tasks": "filter-state",
    "/failures": "dlq-retry-all",
    "/schedules": "schedule-table",
}
NAV = {
    "/": "nav-overview",
    "/live": "nav-live",
    "/workers": "nav-workers",
    "/queues": "nav-queues",
    "/tasks": "nav-tasks",
    "/failures": "nav-failures",
    "/schedules": "nav-schedules",
}


async def visit(page: Page, base_url: str, route: str) -> None:
    """Go to `#<route>`: a full load the first time, then a same-document hash change."""
    await page.goto(f"{base_url}/#{route}")


def row(page: Page, testid: str, **attributes: str) -> Locator:
    """The element `[data-testid=testid]` whose `data-<name>` attributes have these values."""
    selector = f'[data-testid="{testid}"]' + "".join(
        f'[data-{name.replace("_", "-")}="{value}"]' for name, value in attributes.items()
    )
    return page.locator(selector)
