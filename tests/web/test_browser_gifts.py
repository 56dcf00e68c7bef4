"""Gifts in a real browser (a 390 px phone): a viewer tops up coins with the sandbox card in the gift
drawer and sends a gift; a second viewer's room shows the animation with the sender's name as text;
the host's Earnings page shows the diamonds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.live import service
from mercato.live.models import Live
from tests.web.conftest import PHONE
from tests.web.test_browser_live import forget_missing_parts

pytestmark = pytest.mark.browser

Maker = Callable[..., dict[str, Any]]


def test_top_up_send_and_see_the_gift(page: Page, browser: Browser, server: str, request: pytest.FixtureRequest,
                                      api: httpx.Client, make_user: Maker, db_run: Callable[..., Any],
                                      settings: Settings, log_in: Callable[[str, str], None]) -> None:
    host, fan, friend = make_user(), make_user(), make_user()

    async def eligible(db: AsyncSession) -> None:
        user = await db.get(User, host["user"]["id"])
        assert user is not None
        user.is_creator, user.followers_count = True, settings.live_host_min_followers
        sender = await db.get(User, fan["user"]["id"])
        assert sender is not None
        sender.display_name = "<i>Fan</i>"

    db_run(eligible)
    live_id = api.post("/api/v1/lives", headers=host["headers"], json={"title": "Gift night"}).json()["id"]

    async def start(db: AsyncSession) -> None:
        live = await db.get(Live, live_id)
        assert live is not None
        await service.publisher_started(db, live)

    db_run(start)
    other = browser.new_context(base_url=server, viewport=PHONE)
    try:
        second = other.new_page()
        second.goto("/login")
        second.get_by_label("Email").fill(friend["user"]["email"])
        second.get_by_label("Password").fill(friend["password"])
        second.get_by_role("button", name="Log in").click()
        expect(second.get_by_role("link", name="Your account")).to_be_visible()
        second.goto(f"/live/{live_id}")
        expect(second.locator('#live-room[data-room-joined="1"]')).to_be_attached()

        log_in(fan["user"]["email"], fan["password"])
        page.goto(f"/live/{live_id}")
        page.get_by_test_id("gift-button").click()
        drawer = page.get_by_test_id("gift-sheet")
        expect(drawer.get_by_test_id("coin-balance")).to_have_text("0 coins")
        drawer.get_by_test_id("top-up").click()
        drawer.locator('[data-testid="coin-pack"][data-pack="coins_65"]').click()
        drawer.get_by_label("Card number").fill("4242 4242 4242 4242")
        drawer.get_by_label("Expiry (MM/YY)").fill("12/39")
        drawer.get_by_label("CVC").fill("123")
        drawer.get_by_test_id("coin-pay").click()
        expect(drawer.get_by_test_id("coin-balance")).to_have_text("65 coins")
        drawer.locator('[data-testid="gift-tile"][data-gift-name="Heart"]').click()
        drawer.get_by_test_id("gift-quantity").fill("2")
        drawer.get_by_test_id("gift-send").click()
        expect(drawer.get_by_test_id("coin-balance")).to_have_text("55 coins")

        burst = second.get_by_test_id("gift-animation")
        expect(burst).to_contain_text("<i>Fan</i>")  # the name as text, never markup
        expect(burst).to_contain_text("sent Heart")
        expect(burst).to_contain_text("×2")
    finally:
        other.close()

    host_view = browser.new_context(base_url=server, viewport=PHONE)
    try:
        studio = host_view.new_page()
        studio.goto("/login")
        studio.get_by_label("Email").fill(host["user"]["email"])
        studio.get_by_label("Password").fill(host["password"])
        studio.get_by_role("button", name="Log in").click()
        expect(studio.get_by_role("link", name="Your account")).to_be_visible()
        studio.goto("/studio/earnings")
        expect(studio.get_by_text("Diamonds by LIVE")).to_be_visible()
        expect(studio.get_by_role("row", name="Gift night")).to_contain_text("10")
    finally:
        host_view.close()
    forget_missing_parts(request)
