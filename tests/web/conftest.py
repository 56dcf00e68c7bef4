"""Browser fixtures: one headless Chromium (Debian's, never a downloaded one) for the session and a
fresh phone-sized context per test that fails the test on any console error or uncaught page error
— a Content-Security-Policy violation is reported as a console error, so it fails the test too."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import _truncate

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


@pytest.fixture
def clean_db(backend: tuple[str, str | None, Path]) -> str:
    """As the suite's ``clean_db``, but truncating from a worker thread.

    Playwright's sync API leaves its own asyncio loop registered as running on the main thread, so
    ``asyncio.run`` there (as the shared fixture does) would fail once the browser is up.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(_truncate(backend[0]))).result()
    return backend[0]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("MERCATO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MERCATO_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    """A new phone-sized context on the live app; any console error or page error fails the test."""
    context = browser.new_context(base_url=server, viewport=PHONE, device_scale_factor=1, has_touch=True,
                                  is_mobile=False, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            location: dict[str, Any] = message.location
            problems.append(f"console error at {tab.url}: {message.text} ({location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        problems.append(f"uncaught page error at {tab.url}: {error.name}: {error.message}")

    tab.on("console", on_console)
    tab.on("pageerror", on_page_error)
    try:
        yield tab
    finally:
        context.close()
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


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
