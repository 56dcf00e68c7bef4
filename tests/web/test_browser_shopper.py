"""A shopper in a real browser: sign up, log out, log in, search the Shop Tab, open a product,
pick a variant, save it to favourites; plus the sign-up and log-in error paths."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-1"


def _catalog(make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Three products in one shop; the tee has Color Red ($19.99, 10 left) / Blue ($24.99, 3 left)."""
    shop = make_shop("glow-and-go")
    serum = make_product(shop, "Hydrating Serum", description="Hyaluronic acid serum for dry skin.")
    make_product(shop, "Trail Running Shoes", variants=[{"sku": "TRS-1", "price": 8900, "stock": 4}])
    tee = make_product(shop, "Organic Cotton Tee", variants=[
        {"sku": "TEE-RED", "options": {"Color": "Red"}, "price": 1999, "stock": 10},
        {"sku": "TEE-BLUE", "options": {"Color": "Blue"}, "price": 2499, "stock": 3},
    ])
    return {"shop": shop, "serum": serum, "tee": tee}


def _years_ago(years: int) -> str:
    today = date.today()
    try:
        return today.replace(year=today.year - years).isoformat()
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28).isoformat()


def test_sign_up_search_and_save_a_product(
    page: Page, log_in: Callable[[str, str], None],
    make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]],
) -> None:
    catalog = _catalog(make_shop, make_product)

    # Sign up: lands on the home page, logged in.
    page.goto("/signup")
    page.get_by_label("Name").fill("Ada Shopper")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1995-04-01")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="Your account")).to_be_visible()
    expect(page.get_by_role("link", name="Sign up")).to_have_count(0)

    # Log out from the account page.
    page.get_by_role("link", name="Your account").click()
    expect(page.get_by_role("heading", name="Ada Shopper")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="Your account")).to_have_count(0)
    expect(page.get_by_role("link", name="Sign up")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile")).to_have_attribute(
        "href", "/login")

    # Log in again through the form.
    log_in("ada@example.com", PASSWORD)

    # Search the Shop Tab.
    page.goto("/shop")
    search = page.get_by_role("searchbox", name="Search", exact=True)
    search.fill("serum")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/shop\?.*q=serum"))
    expect(page.locator("#results-for")).to_contain_text("serum")
    grid = page.locator("#grid")
    expect(grid.get_by_role("heading", name="Hydrating Serum")).to_be_visible()
    expect(grid.get_by_role("heading", name="Trail Running Shoes")).to_have_count(0)
    expect(grid.get_by_role("heading", name="Organic Cotton Tee")).to_have_count(0)

    # Open the product: title, price and stock.
    grid.get_by_role("link", name="Hydrating Serum").click()
    expect(page).to_have_url(re.compile(rf"/products/{catalog['serum']['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hydrating Serum")
    expect(page.locator("#price")).to_have_text("$19.99")
    expect(page.locator("#stock")).to_have_text("In stock")
    expect(page.get_by_text("Hyaluronic acid serum for dry skin.")).to_be_visible()

    # The variant picker shows the chosen variant's price and stock.
    page.goto(f"/products/{catalog['tee']['id']}")
    expect(page.locator("#price")).to_have_text("$19.99")
    expect(page.locator("#stock")).to_have_text("In stock")
    expect(page.get_by_role("radio", name="Red")).to_be_checked()
    page.get_by_text("Blue", exact=True).click()
    expect(page.get_by_role("radio", name="Blue")).to_be_checked()
    expect(page.locator("#price")).to_have_text("$24.99")
    expect(page.locator("#stock")).to_have_text("Only 3 left")
    expect(page.locator("#sku")).to_have_text("SKU TEE-BLUE")

    # Favourite it (htmx swaps the button) and find it on /favourites.
    save = page.get_by_role("button", name=re.compile(r"♡ Save"))
    save.click()
    expect(page.get_by_role("button", name=re.compile(r"♥ Saved"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"♥ Saved"))).to_have_attribute("aria-pressed", "true")
    page.goto("/favourites")
    expect(page.get_by_role("heading", name="Favourites", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Organic Cotton Tee")).to_be_visible()
    expect(page.get_by_role("heading", name="Hydrating Serum")).to_have_count(0)


def test_variant_picker_switches_back_and_forth(
    page: Page, make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]],
) -> None:
    catalog = _catalog(make_shop, make_product)
    page.goto(f"/products/{catalog['tee']['id']}")
    page.get_by_text("Blue", exact=True).click()
    expect(page.locator("#price")).to_have_text("$24.99")
    expect(page.get_by_role("radio", name="Red")).not_to_be_checked()
    page.get_by_text("Red", exact=True).click()
    expect(page.locator("#price")).to_have_text("$19.99")
    expect(page.locator("#stock")).to_have_text("In stock")


def test_sign_up_too_young_keeps_the_form(page: Page) -> None:
    page.goto("/signup")
    page.get_by_label("Name").fill("Young Tim")
    page.get_by_label("Email").fill("tim@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill(_years_ago(10))
    page.get_by_role("button", name="Sign up").click()
    error = page.locator("#date_of_birth-error")
    expect(error).to_contain_text("at least 13")
    expect(page.get_by_label("Date of birth")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name")).to_have_value("Young Tim")
    expect(page.get_by_label("Email")).to_have_value("tim@example.com")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("link", name="Your account")).to_have_count(0)


def test_log_in_with_a_wrong_password_shows_the_generic_error(
    page: Page, make_user: Callable[..., dict[str, Any]],
) -> None:
    make_user("grace")  # grace@example.com
    page.goto("/login")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    expect(page.get_by_label("Email")).to_have_value("grace@example.com")
    expect(page.get_by_role("link", name="Your account")).to_have_count(0)
    # An unknown email gets exactly the same message.
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")


def test_shopper_pages_fit_a_phone_screen(
    page: Page, log_in: Callable[[str, str], None], make_user: Callable[..., dict[str, Any]],
    make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]],
) -> None:
    """No page scrolls sideways at 390 px, and the bottom tab bar is on screen."""
    catalog = _catalog(make_shop, make_product)
    anonymous = ["/", "/shop", "/shop?q=tee", "/live", "/login", "/signup", f"/products/{catalog['tee']['id']}",
                 "/s/glow-and-go"]
    for path in anonymous:
        page.goto(path)
        _assert_fits(page, path)
    user = make_user("phone")
    log_in("phone@example.com", user["password"])
    for path in ["/", "/me", "/favourites", f"/products/{catalog['serum']['id']}"]:
        page.goto(path)
        _assert_fits(page, path)


def _assert_fits(page: Page, path: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width}px wide on a 390px screen"
    tabs = page.get_by_role("navigation", name="Main")
    expect(tabs).to_be_in_viewport()
    for name in ("For You", "Shop", "Profile"):
        expect(tabs.get_by_role("link", name=name)).to_be_visible()
