"""The buying loop in a real browser, on a 390 px phone: add to cart from two shops, check out
with a new address, a declined card then a good one; the seller ships and marks delivered, the
buyer reviews; a card that asks for a confirmation step; "Buy now" next to a full cart."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import update

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.orders.notify import order_number
from mercato.payments.models import SandboxCharge
from mercato.payments.tasks import deliver_sandbox_webhooks
from tests.conftest import run_async
from tests.orders.conftest import ADDRESS, DECLINED, REQUIRES_ACTION, SUCCESS, add, checkout, pay
from tests.web.conftest import PHONE, TIMEOUT_MS, BrowserWatch

pytestmark = pytest.mark.browser

SHOT = "/tmp/buy-{}.png"
PAY_URL = re.compile(r"/checkout/(\d+)/pay$")


def shot(page: Page, name: str, focus: Locator | None = None) -> None:
    """What the phone shows (the viewport: a full-page capture misplaces the sticky top bar and the
    fixed bottom navigation), with ``focus`` scrolled to the middle of the screen as far as the page allows."""
    if focus is not None:
        focus.evaluate("element => element.scrollIntoView({block: 'center'})")
    page.screenshot(path=SHOT.format(name))


# --- set-up over the API ---------------------------------------------------------------------


def _tee_and_tote(make_shop: Callable[..., dict[str, Any]],
                  make_product: Callable[..., dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two shops: "North Knits" sells a tee in Red ($10.00) / Blue ($12.00), "Harbor Bags" a tote ($25.00)."""
    knits, bags = make_shop("north-knits"), make_shop("harbor-bags")
    tee = make_product(knits, "Organic Cotton Tee", variants=[
        {"sku": "TEE-RED", "options": {"Color": "Red"}, "price": 1000, "stock": 10},
        {"sku": "TEE-BLUE", "options": {"Color": "Blue"}, "price": 1200, "stock": 10},
    ])
    tote = make_product(bags, "Canvas Tote", variants=[{"sku": "TOTE-1", "price": 2500, "stock": 10}])
    return tee, tote


def _with_address(api: httpx.Client, user: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/me/addresses", headers=user["headers"], json={**ADDRESS, "is_default": True})
    assert response.status_code == 201, response.text
    return user


def _cart_lines(api: httpx.Client, user: dict[str, Any]) -> dict[str, int]:
    """{variant id: quantity} of the user's cart, read over the API."""
    response = api.get("/api/v1/cart", headers=user["headers"])
    assert response.status_code == 200, response.text
    return {line["variant_id"]: line["quantity"] for shop in response.json()["shops"] for line in shop["lines"]}


def _deliver_sandbox_webhooks(clean_db: str, settings: Settings, server: str) -> int:
    """Run the sandbox's webhook job once, now, against the live server; returns how many it delivered."""

    async def go() -> int:
        database = Database(clean_db, pool=False)
        try:
            async with database.unit_of_work() as session:
                # The approval scheduled the webhook sandbox_webhook_delay_seconds ahead: make it due now.
                await session.execute(update(SandboxCharge)
                                      .where(SandboxCharge.webhook_sent_at.is_(None),
                                             SandboxCharge.webhook_due_at.is_not(None))
                                      .values(webhook_due_at=datetime.now(UTC) - timedelta(seconds=1)))
                await session.commit()
                return await deliver_sandbox_webhooks(
                    session, settings.model_copy(update={"public_base_url": server}))
        finally:
            await database.dispose()

    return run_async(go())


# --- browser helpers -------------------------------------------------------------------------


class OtherBrowsers:
    """Pages in browser contexts of their own (other people's phones), watched like ``page``."""

    def __init__(self, browser: Browser, server: str) -> None:
        self.browser, self.server = browser, server
        self.opened: list[tuple[BrowserContext, BrowserWatch]] = []

    def open(self) -> Page:
        context = self.browser.new_context(base_url=self.server, viewport=PHONE, device_scale_factor=1,
                                           has_touch=True, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        self.opened.append((context, BrowserWatch(tab)))
        return tab

    def assert_clean(self) -> None:
        problems = [problem for _, watch in self.opened for problem in watch.drain()]
        assert not problems, "the browser reported errors:\n" + "\n".join(problems)


@pytest.fixture
def other_browsers(browser: Browser, server: str) -> Iterator[OtherBrowsers]:
    """Call ``assert_clean()`` at the end of the test; teardown checks again, after closing."""
    others = OtherBrowsers(browser, server)
    yield others
    for context, _ in others.opened:
        context.close()
    others.assert_clean()


def log_in_on(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Your account")).to_be_visible()


def fill_card(page: Page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM/YY)").fill("12/30")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Ada Buyer")


def pay_button(page: Page) -> Locator:
    return page.get_by_role("button", name=re.compile(r"^Pay \$"))


# --- tests -----------------------------------------------------------------------------------


def test_shopper_buys_from_two_shops(
    page: Page, log_in: Callable[[str, str], None], api: httpx.Client, make_user: Callable[..., dict[str, Any]],
    make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]],
) -> None:
    tee, tote = _tee_and_tote(make_shop, make_product)
    blue, tote_variant = tee["variants"][1]["id"], tote["variants"][0]["id"]
    ada = make_user("ada")
    log_in("ada@example.com", ada["password"])

    # Product 1: choose Blue, the price follows; Add to cart answers in place (htmx).
    page.goto(f"/products/{tee['id']}")
    expect(page.locator("#price")).to_have_text("$10.00")
    page.get_by_text("Blue", exact=True).click()
    expect(page.get_by_role("radio", name="Blue")).to_be_checked()
    expect(page.locator("#price")).to_have_text("$12.00")
    page.get_by_role("button", name="Add to cart").click()
    feedback = page.locator("#cart-feedback")
    expect(feedback).to_contain_text("Added to cart")
    expect(feedback.get_by_role("link", name="View cart (1)")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/products/{tee['id']}$"))  # no navigation
    shot(page, "1-product-added", feedback)

    # Product 2: Add to cart.
    page.goto(f"/products/{tote['id']}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-feedback")).to_contain_text("Added to cart")
    expect(page.locator("#cart-feedback").get_by_role("link", name="View cart (2)")).to_be_visible()

    # The cart: one section per shop, each with its subtotal.
    page.goto("/cart")
    knits = page.get_by_role("region", name="North Knits")
    bags = page.get_by_role("region", name="Harbor Bags")
    expect(knits.get_by_role("link", name="Organic Cotton Tee")).to_be_visible()
    expect(knits.get_by_text("Blue · $12.00")).to_be_visible()
    expect(knits.get_by_text("Subtotal $12.00")).to_be_visible()
    expect(bags.get_by_role("link", name="Canvas Tote")).to_be_visible()
    expect(bags.get_by_text("Subtotal $25.00")).to_be_visible()
    shot(page, "2-cart", page.get_by_role("link", name=re.compile(r"^Check out")))

    # Check out with a new address.
    page.get_by_role("link", name=re.compile(r"^Check out")).click()
    expect(page).to_have_url(re.compile(r"/checkout$"))
    expect(page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()
    page.get_by_label("Full name").fill("Ada Buyer")
    page.get_by_label("Address", exact=True).fill("1 Market St")
    page.get_by_label("City").fill("San Francisco")
    page.get_by_label("Region").fill("US-CA")
    page.get_by_label("Postal code").fill("94105")
    page.get_by_label("Country").fill("US")
    shot(page, "3-checkout", page.get_by_role("button", name="Place order"))
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(PAY_URL)
    pay_url = page.url
    expect(page.get_by_role("heading", name="Payment", level=1)).to_be_visible()
    expect(page.locator("#pay-status").get_by_role("listitem")).to_have_count(2)
    shot(page, "4-pay")

    # A declined card: a clear message, the checkout stays open, the cart keeps both items.
    fill_card(page, DECLINED)
    pay_button(page).click()
    expect(page.get_by_role("alert")).to_have_text("Your card was declined. Try another card.")
    expect(page.locator("#pay-status").get_by_text("awaiting payment")).to_have_count(2)
    expect(pay_button(page)).to_be_enabled()
    shot(page, "5-declined")
    page.goto("/cart")
    expect(knits.get_by_role("link", name="Organic Cotton Tee")).to_be_visible()
    expect(bags.get_by_role("link", name="Canvas Tote")).to_be_visible()
    assert _cart_lines(api, ada) == {blue: 1, tote_variant: 1}

    # Back to the pay page: a good card pays both orders.
    page.goto(pay_url)
    expect(page.get_by_role("alert")).to_have_count(0)
    fill_card(page, SUCCESS)
    pay_button(page).click()
    expect(page).to_have_url(re.compile(r"/orders\?placed=\d+$"))
    expect(page.get_by_role("status").filter(has_text="Order placed")).to_be_visible()
    orders = page.get_by_role("main").get_by_role("listitem")
    expect(orders).to_have_count(2)
    expect(orders.filter(has_text="North Knits")).to_contain_text("paid")
    expect(orders.filter(has_text="Harbor Bags")).to_contain_text("paid")
    shot(page, "6-orders")

    # The paid items left the cart.
    page.goto("/cart")
    expect(page.get_by_role("heading", name="Your cart is empty")).to_be_visible()


def test_seller_ships_buyer_reviews(
    page: Page, log_in: Callable[[str, str], None], other_browsers: OtherBrowsers, api: httpx.Client,
    make_user: Callable[..., dict[str, Any]], make_shop: Callable[..., dict[str, Any]],
    make_product: Callable[..., dict[str, Any]],
) -> None:
    shop = make_shop("harbor-bags", owner=make_user("sam"))
    tote = make_product(shop, "Canvas Tote", variants=[{"sku": "TOTE-1", "price": 2500, "stock": 10}])
    ada = _with_address(api, make_user("ada"))
    created = checkout(api, ada, items=[{"variant_id": tote["variants"][0]["id"], "quantity": 1}])
    assert created.status_code == 201, created.text
    paid = pay(api, ada, created.json()["id"])
    assert paid.status_code == 200, paid.text
    order_id = paid.json()["orders"][0]["id"]
    number = order_number(order_id)

    # The seller ships, then marks delivered.
    log_in("sam@example.com", shop["owner"]["password"])
    page.goto("/seller/harbor-bags/orders")
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("paid")
    shot(page, "7-seller-orders")
    row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("paid")
    page.get_by_label("Carrier").fill("UPS")
    page.get_by_label("Tracking number").fill("1Z999AA10123456784")
    shot(page, "8-seller-order", page.get_by_role("button", name="Mark shipped"))
    page.get_by_role("button", name="Mark shipped").click()
    expect(page.locator("#order-status")).to_have_text("shipped")
    expect(page.get_by_text("UPS 1Z999AA10123456784")).to_be_visible()
    page.get_by_role("button", name="Mark delivered").click()
    expect(page.locator("#order-status")).to_have_text("delivered")
    expect(page.get_by_role("button", name="Mark delivered")).to_have_count(0)

    # The buyer, in a browser of her own, sees it delivered and reviews it.
    buyer = other_browsers.open()
    log_in_on(buyer, "ada@example.com", ada["password"])
    buyer.goto(f"/orders/{order_id}")
    expect(buyer.locator("#order-status")).to_have_text("delivered")
    expect(buyer.get_by_text("Tracking: UPS 1Z999AA10123456784")).to_be_visible()
    review = buyer.locator("form").filter(has=buyer.get_by_role("group", name="Canvas Tote"))
    review.get_by_text("4 ★", exact=True).click()
    expect(review.get_by_role("radio", name="4 ★")).to_be_checked()
    review.get_by_label("Your review").fill("Sturdy and roomy, the strap could be longer.")
    shot(buyer, "9-review", review.get_by_role("button", name="Post review"))
    review.get_by_role("button", name="Post review").click()
    expect(buyer).to_have_url(re.compile(rf"/orders/{order_id}\?saved=review$"))
    expect(buyer.get_by_text("You reviewed Canvas Tote")).to_be_visible()
    expect(buyer.get_by_role("button", name="Post review")).to_have_count(0)

    # The product page shows the review and the new rating.
    buyer.goto(f"/products/{tote['id']}")
    expect(buyer.get_by_text("Sturdy and roomy, the strap could be longer.")).to_be_visible()
    expect(buyer.get_by_text(re.compile(r"4\.0 \(1 reviews?\)"))).to_be_visible()
    shot(buyer, "10-product-reviewed", buyer.get_by_role("heading", name="Reviews"))
    other_browsers.assert_clean()


def test_requires_action_card(
    page: Page, log_in: Callable[[str, str], None], api: httpx.Client, make_user: Callable[..., dict[str, Any]],
    make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]],
    settings: Settings, clean_db: str, server: str,
) -> None:
    _tee, tote = _tee_and_tote(make_shop, make_product)
    ada = _with_address(api, make_user("ada"))
    assert add(api, ada, tote["variants"][0]["id"]).status_code == 201
    log_in("ada@example.com", ada["password"])

    page.goto("/cart")
    page.get_by_role("link", name=re.compile(r"^Check out")).click()
    expect(page.get_by_role("radio", name=re.compile(r"Ada Buyer, 1 Market St"))).to_be_checked()
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(PAY_URL)
    pay_url = page.url
    fill_card(page, REQUIRES_ACTION)
    pay_button(page).click()

    # The sandbox's confirmation page (what a bank's 3-D Secure page is for a real card).
    expect(page).to_have_url(re.compile(r"/sandbox/actions/[^/?]+"))
    expect(page.get_by_role("heading", name="Confirm your payment")).to_be_visible()
    expect(page.get_by_text("$25.00")).to_be_visible()
    shot(page, "11-sandbox-action")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    shot(page, "12-sandbox-approved")

    # Back on the pay page, it waits for the provider's word…
    page.get_by_role("link", name="Back to Mercato").click()
    expect(page).to_have_url(pay_url)
    waiting = page.get_by_role("status").filter(has_text="Waiting for your confirmation")
    expect(waiting).to_be_visible()
    expect(waiting.get_by_role("link", name="Confirm the payment")).to_have_attribute(
        "href", re.compile(r"^/sandbox/actions/[^?]+\?return_to=/checkout/\d+/pay$"))
    shot(page, "13-pay-waiting")

    # …the webhook arrives (the job, run here); the open page polls and shows the order paid.
    assert _deliver_sandbox_webhooks(clean_db, settings, server) == 1
    expect(page.get_by_role("status").filter(has_text="Paid!")).to_be_visible()
    expect(page.get_by_role("banner")).to_have_count(1)  # the poll swapped in a fragment, not a whole page
    shot(page, "14-pay-paid")
    page.get_by_role("link", name="See your orders").click()
    expect(page).to_have_url(re.compile(r"/orders\?placed=\d+$"))
    expect(page.get_by_text("Order placed")).to_be_visible()
    orders = page.get_by_role("main").get_by_role("listitem")
    expect(orders).to_have_count(1)
    expect(orders).to_contain_text("paid")


def test_buy_now_keeps_cart(
    page: Page, log_in: Callable[[str, str], None], api: httpx.Client, make_user: Callable[..., dict[str, Any]],
    make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]],
) -> None:
    tee, tote = _tee_and_tote(make_shop, make_product)
    red, tote_variant = tee["variants"][0]["id"], tote["variants"][0]["id"]
    ada = _with_address(api, make_user("ada"))
    log_in("ada@example.com", ada["password"])

    page.goto(f"/products/{tee['id']}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart-feedback")).to_contain_text("Added to cart")
    assert _cart_lines(api, ada) == {red: 1}

    # Buy now: straight to a checkout of that item alone.
    page.goto(f"/products/{tote['id']}")
    page.get_by_role("button", name="Buy now").click()
    expect(page).to_have_url(re.compile(rf"/checkout\?item={tote_variant}&qty=1$"))
    summary = page.locator(".summary-list > li")
    expect(summary).to_have_count(1)
    expect(summary).to_contain_text("Harbor Bags")
    expect(summary).to_contain_text("$25.00")
    shot(page, "15-buy-now-checkout", summary)
    assert _cart_lines(api, ada) == {red: 1}, "Buy now must leave the cart as it is"

    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(PAY_URL)
    expect(page.locator("#pay-status").get_by_role("listitem")).to_have_count(1)
    fill_card(page, SUCCESS)
    pay_button(page).click()
    expect(page).to_have_url(re.compile(r"/orders\?placed=\d+$"))
    orders = page.get_by_role("main").get_by_role("listitem")
    expect(orders).to_have_count(1)
    expect(orders).to_contain_text("Harbor Bags")

    # The cart still holds the tee, and only the tee.
    page.goto("/cart")
    knits = page.get_by_role("region", name="North Knits")
    expect(knits.get_by_role("link", name="Organic Cotton Tee")).to_be_visible()
    expect(page.get_by_role("region", name="Harbor Bags")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile(r"^Check out \(1 items?\)$"))).to_be_visible()
    shot(page, "16-cart-after-buy-now")
    assert _cart_lines(api, ada) == {red: 1}

