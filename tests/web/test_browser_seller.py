"""A seller in a real browser: open a shop, add a product with a photo, find it in the Shop Tab,
sell out of it; and import a WooCommerce catalog twice (the second run changes nothing)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

WOO_SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "catalog" / "woocommerce" / \
    "sample_products.csv"


def _png(path: Path) -> Path:
    """A real 640×480 PNG: a green field with a white square."""
    image = Image.new("RGB", (640, 480), (46, 160, 67))
    image.paste((255, 255, 255), (220, 140, 420, 340))
    image.save(path, format="PNG")
    return path


def test_open_a_shop_through_the_form(
    page: Page, log_in: Callable[[str, str], None], make_user: Callable[..., dict[str, Any]],
) -> None:
    seller = make_user("olga")
    log_in("olga@example.com", seller["password"])
    page.goto("/seller")
    expect(page.get_by_role("heading", name="Seller Center")).to_be_visible()
    expect(page.get_by_text("You have no shop yet.")).to_be_visible()
    page.get_by_label("Shop name").fill("Green Threads")
    page.get_by_label("Shop address").fill("green-threads")
    page.get_by_role("button", name="Open shop").click()
    expect(page).to_have_url(re.compile(r"/seller/green-threads$"))
    expect(page.get_by_role("navigation", name="Seller Center")).to_contain_text("Green Threads")
    expect(page.get_by_role("heading", name="No products yet")).to_be_visible()
    # The browser checks the address before sending it.
    page.goto("/seller?all=1")
    page.get_by_label("Shop name").fill("Bad Address")
    page.get_by_label("Shop address").fill("Bad Address!")
    assert page.get_by_label("Shop address").evaluate("(input) => input.validity.patternMismatch") is True


def test_add_a_product_with_an_image_and_sell_out(
    page: Page, tmp_path: Path, log_in: Callable[[str, str], None], make_user: Callable[..., dict[str, Any]],
    make_shop: Callable[..., dict[str, Any]],
) -> None:
    # The shop is opened over the API: opening it through the form is test_open_a_shop_through_the_form.
    seller = make_user("sofia")
    make_shop("green-threads", owner=seller)
    log_in("sofia@example.com", seller["password"])
    page.goto("/seller")
    expect(page).to_have_url(re.compile(r"/seller/green-threads$"))
    expect(page.get_by_role("heading", name="No products yet")).to_be_visible()

    # Add product, with its first variant and an image.
    page.get_by_role("main").get_by_role("link", name="Add product").first.click()
    expect(page.get_by_role("heading", name="Add product", level=1)).to_be_visible()
    page.get_by_label("Title").fill("Linen Summer Shirt")
    page.get_by_label("Description").fill("Breathable linen, relaxed fit.")
    page.get_by_label("Price (USD)").fill("24.50")
    page.get_by_label("Stock").fill("7")
    page.get_by_label("Option 1 name").fill("Color")
    page.get_by_label("Option 1 value").fill("Green")
    page.locator("#product-form").get_by_label("Image").set_input_files(_png(tmp_path / "shirt.png"))
    page.get_by_role("button", name="Save product").click()

    expect(page).to_have_url(re.compile(r"/seller/green-threads/products/\d+\?saved=created$"))
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_role("heading", name="Linen Summer Shirt", level=1)).to_be_visible()
    variants = page.locator("table").first
    expect(variants.get_by_role("cell", name="Green", exact=True)).to_be_visible()
    expect(variants.get_by_label("Price", exact=True)).to_have_value("24.50")
    expect(variants.get_by_label("Stock", exact=True)).to_have_value("7")
    expect(page.locator(".image-grid img")).to_have_count(1)
    edit_url = page.url.split("?")[0]
    product_id = int(edit_url.rsplit("/", 1)[1])

    # The Shop Tab finds it, with its thumbnail actually loaded.
    page.goto("/shop")
    search = page.get_by_role("searchbox", name="Search", exact=True)
    search.fill("linen shirt")
    search.press("Enter")
    card = page.locator("#grid article").filter(has=page.get_by_role("heading", name="Linen Summer Shirt"))
    expect(card).to_have_count(1)
    expect(card.locator(".card-price")).to_have_text("$24.50")
    thumb = card.locator("img")
    expect(thumb).to_have_attribute("src", re.compile(r"^/media/products/"))
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("(img) => img.naturalWidth") > 0

    card.get_by_role("link", name="Linen Summer Shirt").click()
    expect(page).to_have_url(re.compile(rf"/products/{product_id}$"))
    expect(page.locator("#price")).to_have_text("$24.50")
    expect(page.locator("#stock")).to_have_text("In stock")
    expect(page.get_by_role("radio", name="Green")).to_be_checked()
    main_image = page.locator(".gallery img.main-img")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=main_image.element_handle())

    # Sell out: stock 0 on the edit page, then the product page says so.
    page.goto(edit_url)
    variants = page.locator("table").first
    variants.get_by_label("Stock", exact=True).fill("0")
    variants.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?saved=variant$"))
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("table").first.get_by_label("Stock", exact=True)).to_have_value("0")
    page.goto(f"/products/{product_id}")
    expect(page.locator("#stock")).to_have_text("Out of stock")
    page.goto("/shop?q=linen")
    expect(page.locator("#grid article").filter(has_text="Linen Summer Shirt").locator(".badge-out")).to_have_text(
        "Sold out")


def test_import_a_woocommerce_catalog_twice(
    page: Page, log_in: Callable[[str, str], None], make_shop: Callable[..., dict[str, Any]],
    make_user: Callable[..., dict[str, Any]],
) -> None:
    assert WOO_SAMPLE.is_file(), f"missing sample catalog {WOO_SAMPLE}"
    owner = make_user("wooseller")
    make_shop("woo-imports", owner=owner)
    log_in("wooseller@example.com", owner["password"])

    page.goto("/seller")  # the only shop: straight to its products
    expect(page).to_have_url(re.compile(r"/seller/woo-imports$"))
    page.get_by_role("navigation", name="Seller Center").get_by_role("link", name="Import catalog").click()
    expect(page.get_by_role("heading", name="Import a catalog")).to_be_visible()

    def run_import() -> None:
        page.get_by_label("Catalog file").set_input_files(WOO_SAMPLE)
        page.get_by_label("Format").select_option("woocommerce")
        with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/import")) as answer:
            page.get_by_role("button", name="Import").click()
        assert answer.value.status == 200, f"the import answered {answer.value.status}"
        expect(page.get_by_role("heading", name=re.compile(r"^Report: sample_products\.csv"))).to_be_visible()

    run_import()
    expect(page.locator("#count-created")).to_have_text("16")
    expect(page.locator("#count-updated")).to_have_text("0")
    expect(page.locator("#count-unchanged")).to_have_text("0")
    expect(page.locator("#count-rejected")).to_have_text("2")
    report = page.locator("section.report")
    expect(report.locator("tbody tr.outcome-rejected")).to_have_count(2)

    run_import()
    expect(page.locator("#count-created")).to_have_text("0")
    expect(page.locator("#count-updated")).to_have_text("0")
    expect(page.locator("#count-unchanged")).to_have_text("16")
    expect(page.locator("#count-rejected")).to_have_text("2")
    history = page.get_by_role("heading", name="Recent imports")
    expect(history).to_be_visible()
    expect(page.locator("table").last.locator("tbody tr")).to_have_count(2)

    # The imported products are in the seller's list and in the Shop Tab.
    page.goto("/seller/woo-imports?status=active")
    expect(page.get_by_role("link", name="Hoodie with Logo")).to_be_visible()
    page.goto("/shop?q=hoodie")
    expect(page.locator("#grid").get_by_role("heading", name="Hoodie with Logo")).to_be_visible()


@pytest.mark.parametrize("section", [
    "products", "new",
    "edit",
    "import", "settings", "all",
])
def test_seller_pages_fit_a_phone_screen(
    page: Page, section: str, log_in: Callable[[str, str], None], make_shop: Callable[..., dict[str, Any]],
    make_product: Callable[..., dict[str, Any]],
) -> None:
    shop = make_shop("phone-shop")
    product = make_product(shop, "Organic Cotton Tee", variants=[
        {"sku": "TEE-RED", "options": {"Color": "Red"}, "price": 1999, "stock": 10},
        {"sku": "TEE-BLUE", "options": {"Color": "Blue"}, "price": 2499, "stock": 3},
    ])
    log_in(shop["owner"]["user"]["email"], shop["owner"]["password"])
    path = {
        "products": "/seller/phone-shop", "new": "/seller/phone-shop/products/new",
        "edit": f"/seller/phone-shop/products/{product['id']}", "import": "/seller/phone-shop/import",
        "settings": "/seller/phone-shop/settings", "all": "/seller?all=1",
    }[section]
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width}px wide on a 390px screen"
