"""Browser fixtures: one headless Chromium (Debian's, never a downloaded one) for the session and a
fresh phone-sized context per test that fails the test on any console error or uncaught page error
— a Content-Security-Policy violation is reported as a console error, so it fails the test too."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING

import pytest

from tests.harness import chromium, missing
from tests.live.conftest import hub_installed  # the room hub publishes frames in browser tests too

__all__ = ["hub_installed"]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Response, ViewportSize

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000
DOCUMENT_STATUS_NOTE = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium()
    if executable is None:
        missing("browser")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium_browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    try:
        yield chromium_browser
    finally:
        chromium_browser.close()
        playwright.stop()


class BrowserWatch:
    """Console errors and uncaught page errors of one page.

    One console error is expected and ignored: Chromium's "Failed to load resource: … status of 4xx" about
    a page document itself, since the app answers a rejected form with its page re-rendered under 4xx
    (422, 401, 403…). Subresources with a 4xx, and documents with a 5xx, still count.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console_errors: list[tuple[str, str, str]] = []
        self.page_errors: list[str] = []
        self.client_error_documents: set[tuple[str, int]] = set()
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)

    def _on_response(self, response: Response) -> None:
        if response.request.resource_type == "document" and 400 <= response.status < 500:
            self.client_error_documents.add((response.url, response.status))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append((self.page.url, message.text, str(message.location.get("url", ""))))

    def _on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"uncaught page error on {self.page.url}: {error.name}: {error.message}")

    def drain(self) -> list[str]:
        """The problems reported so far (each only once)."""
        problems = list(self.page_errors)
        for on_page, text, url in self.console_errors:
            status = DOCUMENT_STATUS_NOTE.match(text)
            if status and (url, int(status.group(1))) in self.client_error_documents:
                continue
            problems.append(f"console error on {on_page}: {text} (source: {url or 'n/a'})")
        self.page_errors.clear()
        self.console_errors.clear()
        return problems


WATCH = pytest.StashKey[BrowserWatch]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail the test itself (not its teardown, so ``xfail`` applies) when its page reported errors."""
    try:
        result = yield
    except BaseException:
        watch = item.stash.get(WATCH, None)
        problems = watch.drain() if watch else []
        if problems:
            item.add_report_section("call", "browser errors", "\n".join(problems))
        raise
    watch = item.stash.get(WATCH, None)
    problems = watch.drain() if watch else []
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)
    return result


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, server: str) -> Iterator[Page]:
    """A new phone-sized context on the live app; a console error or uncaught page error fails the test."""
    context = browser.new_context(base_url=server, viewport=PHONE, device_scale_factor=1, has_touch=True,
                                  locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    watch = BrowserWatch(tab)
    request.node.stash[WATCH] = watch
    try:
        yield tab
    finally:
        context.close()
        del request.node.stash[WATCH]
    late = watch.drain()
    assert not late, "the browser reported errors after the test:\n" + "\n".join(late)


@pytest.fixture
def log_in(page: Page) -> Callable[[str, str], None]:
    """Log in through the form on /login and wait until the account link shows."""
    from playwright.sync_api import expect

    def go(email: str, password: str) -> None:
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("link", name="Your account")).to_be_visible()

    return go
