"""Affiliate money in real browsers: a creator makes and copies an affiliate link in the Studio; a
shopper opens it in another browser context (before logging in), buys with the sandbox card; the
creator's Commissions page shows the pending commission with the touchpoint that decided it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from mercato.config import Settings
from tests.affiliate.money_helpers import open_plan
from tests.orders.conftest import SUCCESS
from tests.web.test_browser_buying import OtherBrowsers, fill_card, log_in_on, other_browsers, pay_button  # noqa: F401

pytestmark = pytest.mark.browser


def test_creator_link_to_pending_commission(page: Page, log_in: Callable[[str, str], None], api: httpx.Client,
                                            make_shop: Callable[..., dict[str, Any]],
                                            make_product: Callable[..., dict[str, Any]],
                                            make_user: Callable[..., dict[str, Any]],
                                            db_run: Any, settings: Settings,
                                            other_browsers: OtherBrowsers) -> None:  # noqa: F811
    shop = make_shop()
    lamp = make_product(shop, "Paper Lamp", variants=[{"sku": None, "price": 4000, "stock": 5}])
    creator = make_user("cleo")  # a plan member (joining is the plans' flow)
    open_plan(db_run, shop, [lamp["id"]], [creator], rate_bps=1500)
    shopper = make_user("sam")

    log_in("cleo@example.com", creator["password"])
    page.goto("/studio/affiliate/links")
    page.get_by_label("Product number").fill(str(lamp["id"]))
    page.get_by_role("button", name="Make link").click()
    link = page.get_by_test_id("link-url")
    expect(link).to_have_value(re.compile(r"/a/[\w-]+$"))
    page.get_by_role("button", name="Copy").click()
    copied = link.input_value()
    assert copied.startswith(settings.public_base_url)  # absolute links use the public address
    url = copied[len(settings.public_base_url):]  # this test server listens elsewhere

    tab = other_browsers.open()
    tab.goto(url)  # anonymous: the signed visitor cookie keeps the click until log-in
    expect(tab).to_have_url(re.compile(rf"/products/{lamp['id']}$"))
    log_in_on(tab, "sam@example.com", shopper["password"])
    tab.goto(f"/products/{lamp['id']}")
    tab.get_by_role("button", name="Add to cart").click()
    expect(tab.locator("#cart-feedback")).to_contain_text("Added to cart")
    tab.goto("/cart")
    tab.get_by_role("link", name=re.compile(r"^Check out")).click()
    tab.get_by_label("Full name").fill("Sam Shopper")
    tab.get_by_label("Address", exact=True).fill("1 Market St")
    tab.get_by_label("City").fill("San Francisco")
    tab.get_by_label("Region").fill("US-CA")
    tab.get_by_label("Postal code").fill("94105")
    tab.get_by_label("Country").fill("US")
    tab.get_by_role("button", name="Place order").click()
    fill_card(tab, SUCCESS)
    pay_button(tab).click()
    expect(tab).to_have_url(re.compile(r"/orders\?placed=\d+$"))
    other_browsers.assert_clean()

    page.goto("/studio/affiliate/commissions")
    row = page.get_by_test_id("commission")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Paper Lamp")
    expect(row).to_contain_text("$6.00")  # 15 % of $40.00
    expect(row).to_contain_text("pending")
    expect(row).to_contain_text("Affiliate link click")
    expect(row).to_contain_text("Last click")
