"""Videos in a real browser, on a 390 px phone: For You plays the video (muted autoplay, time advancing),
the product card opens the product sheet, add to cart and buy now happen in the sheet with the sandbox
card while the video keeps playing and the page stays the video page; arrow keys and j/k move one video;
a declined card shows its message in the sheet; the upload page sends a real mp4 with a progress bar
that reaches 100 % and the video shows up on the profile."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.feed.models import FeedEvent
from tests.videos import make_clip
from tests.web.conftest import WATCH

pytestmark = pytest.mark.browser

MakeUser = Callable[..., dict[str, Any]]
SHOT = "/tmp/video-{}.png"
SUCCESS, DECLINED = "4242 4242 4242 4242", "4000 0000 0000 0002"
ADDRESS = {"name": "Ada Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "US-CA",
           "postal_code": "94105", "country": "US"}


def shot(page: Page, name: str) -> None:
    page.screenshot(path=SHOT.format(name))


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-second vertical H.264/AAC mp4 (made with PyAV)."""
    target = tmp_path_factory.mktemp("browser-clips") / "clip.mp4"
    make_clip(target, seconds=3, container_options={"movflags": "+faststart"})
    return target


@pytest.fixture
def post_video(api: httpx.Client, clip: Path) -> Callable[..., dict[str, Any]]:
    def post(user: dict[str, Any], caption: str, product_ids: list[int] | None = None) -> dict[str, Any]:
        with clip.open("rb") as fh:
            response = api.post("/api/v1/videos", headers=user["headers"],
                                data={"caption": caption, "product_ids": [str(p) for p in product_ids or []]},
                                files={"file": ("clip.mp4", fh, "video/mp4")})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return post


@pytest.fixture
def world(api: httpx.Client, make_user: MakeUser, make_shop: Callable[..., dict[str, Any]],
          make_product: Callable[..., dict[str, Any]], post_video: Callable[..., dict[str, Any]],
          in_plan: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A shop selling a tee (Red $10.00 / Blue $12.00, was $15.00) and two creators' videos showing it."""
    maya, leo = make_user("maya"), make_user("leo")
    for user, handle in ((maya, "maya.makes"), (leo, "leo.lifts")):
        assert api.patch("/api/v1/me", headers=user["headers"], json={"handle": handle}).status_code == 200
    shop = make_shop("north-knits", owner=maya)
    tee = make_product(shop, "Organic Cotton Tee", option_names=["Color"], variants=[
        {"sku": "TEE-RED", "options": {"Color": "Red"}, "price": 1000, "compare_at_price": 1500, "stock": 10},
        {"sku": "TEE-BLUE", "options": {"Color": "Blue"}, "price": 1200, "compare_at_price": 1500, "stock": 10},
    ])
    in_plan(shop, [tee], leo)  # leo features maya's tee through her shop's affiliate plan
    first = post_video(maya, "Softest tee ever #ootd with @leo.lifts", [tee["id"]])
    second = post_video(leo, "Gym fit check #ootd #gym", [tee["id"]])
    return {"maya": maya, "leo": leo, "shop": shop, "tee": tee, "videos": [first, second]}


def allow_console_errors(request: pytest.FixtureRequest, status: int) -> None:
    """Forget the console's note about an expected API answer (a declined card is a 402 by design)."""
    watch = request.node.stash[WATCH]
    note = f"status of {status}"
    watch.console_errors = [entry for entry in watch.console_errors if note not in entry[1]]


def current_time(page: Page) -> float:
    value: float = page.evaluate("() => document.querySelector('.slide.active video').currentTime")
    return value


def expect_playing(page: Page) -> None:
    """The active video's time moves by itself (the 3 s clip loops, so "moves", not "grows")."""
    page.wait_for_function("() => { const v = document.querySelector('.slide.active video');"
                           " return v && !v.paused && v.currentTime > 0.2; }")
    before = current_time(page)
    page.wait_for_timeout(600)
    assert current_time(page) != before, "the video does not advance"
    assert page.evaluate("() => !document.querySelector('.slide.active video').paused")


def active_video_id(page: Page) -> int:
    return int(page.locator(".slide.active").get_attribute("data-video") or 0)


def fill_card(sheet: Locator, number: str) -> None:
    sheet.get_by_label("Card number").fill(number)
    sheet.get_by_label("Expiry (MM/YY)").fill("12/30")
    sheet.get_by_label("CVC").fill("123")
    sheet.get_by_label("Name on card").fill("Ada Buyer")


def test_watch_and_buy_without_leaving_the_video(
    page: Page, log_in: Callable[[str, str], None], api: httpx.Client, make_user: MakeUser, world: dict[str, Any],
    db_run: Callable[..., Any],
) -> None:
    ada = make_user("ada")
    log_in("ada@example.com", ada["password"])  # lands on For You

    # The video plays by itself, muted, with a visible "tap to unmute".
    expect(page.locator(".slide")).to_have_count(2)
    expect_playing(page)
    assert page.evaluate("() => document.querySelector('.slide.active video').muted") is True
    unmute = page.get_by_role("button", name="Tap to unmute")
    expect(unmute).to_be_visible()
    # The next video is preloaded: its <video> already has its source.
    assert page.evaluate("() => { const v = document.querySelectorAll('.slide video')[1];"
                         " return v.getAttribute('src') !== null && v.preload === 'auto'; }")
    shot(page, "1-for-you")
    watching = active_video_id(page)

    # The product card opens the product sheet over the video.
    page.locator(".slide.active .product-chip").click()
    sheet = page.locator("#product-sheet")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_role("heading", name="Organic Cotton Tee", level=3)).to_be_visible()
    expect(sheet.locator("#sheet-price")).to_have_text("$10.00")
    expect(sheet.locator("#sheet-compare")).to_have_text("$15.00")
    expect(sheet.get_by_text("In stock")).to_be_visible()
    sheet.get_by_text("Blue", exact=True).click()
    expect(sheet.locator("#sheet-price")).to_have_text("$12.00")
    shot(page, "2-product-sheet")

    # Add to cart, in place.
    sheet.get_by_role("button", name="Add to cart").click()
    expect(sheet.locator("#sheet-feedback")).to_contain_text("Added to cart")
    expect(sheet.get_by_role("link", name="View cart (1)")).to_be_visible()
    cart = api.get("/api/v1/cart", headers=ada["headers"]).json()
    assert [line["variant_id"] for s in cart["shops"] for line in s["lines"]] == [world["tee"]["variants"][1]["id"]]

    # Buy now: address, then the sandbox card, all in the sheet.
    sheet.get_by_role("button", name="Buy now").click()
    sheet.get_by_label("Full name").fill(ADDRESS["name"])
    sheet.get_by_label("Address").fill(ADDRESS["line1"])
    sheet.get_by_label("City").fill(ADDRESS["city"])
    sheet.get_by_label("Region").fill(ADDRESS["region"])
    sheet.get_by_label("Postal code").fill(ADDRESS["postal_code"])
    sheet.get_by_role("button", name="Continue to payment").click()
    expect(sheet.locator("#sheet-total")).to_have_text("$12.00")
    fill_card(sheet, SUCCESS)
    shot(page, "3-pay-in-sheet")
    sheet.get_by_role("button", name="Pay $12.00").click()
    expect(sheet.get_by_role("heading", name="Order placed — thank you!")).to_be_visible()
    expect(sheet.get_by_role("link", name=re.compile(r"^Order M"))).to_be_visible()
    shot(page, "4-order-placed")

    # Still the video page, and the video kept playing behind the sheet.
    expect(page).to_have_url(re.compile(r"/$"))
    assert active_video_id(page) == watching
    expect_playing(page)
    orders = api.get("/api/v1/orders", headers=ada["headers"]).json()["items"]
    assert [(o["status"], o["total"]) for o in orders] == [("paid", 1200)]
    sheet.get_by_role("button", name="Keep watching").click()
    expect(sheet).to_be_hidden()

    # Keyboard: ArrowDown / j to the next video, ArrowUp / k back.
    page.keyboard.press("ArrowDown")
    expect(page.locator(".slide.active")).to_have_attribute("data-index", "1")
    expect_playing(page)
    assert active_video_id(page) != watching
    page.keyboard.press("ArrowUp")
    expect(page.locator(".slide.active")).to_have_attribute("data-index", "0")
    page.keyboard.press("j")
    expect(page.locator(".slide.active")).to_have_attribute("data-index", "1")
    page.keyboard.press("k")
    expect(page.locator(".slide.active")).to_have_attribute("data-index", "0")
    expect_playing(page)

    # Unmute, and like (optimistic, then confirmed by the server).
    unmute.click()
    assert page.evaluate("() => document.querySelector('.slide.active video').muted") is False
    like = page.locator(".slide.active").get_by_role("button", name="Like")
    with page.expect_response(re.compile(rf"/api/v1/videos/{watching}/like$")) as liked:
        like.click()
    assert liked.value.status == 200, liked.value.text()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like).to_contain_text("1")

    # What the player saw went to the feed: impressions, a skip or a watch with its time, the purchase.
    def kinds() -> set[str]:
        async def read(session: AsyncSession) -> set[str]:
            rows = await session.execute(select(FeedEvent.kind).where(FeedEvent.user_id == ada["user"]["id"]))
            return set(rows.scalars())

        found: set[str] = db_run(read)
        return found

    page.wait_for_timeout(3500)  # the player sends its events in small batches
    assert {"impression", "add_to_cart", "purchase"} <= kinds()
    assert kinds() & {"skip", "watch"}

    # "Why you're seeing this" gives the reason and the personalisation switch.
    page.locator(".slide.active").get_by_role("button", name="Why you're seeing this").click()
    why = page.locator("#why-sheet")
    expect(why.locator("#why-text")).not_to_be_empty()
    switch = why.get_by_role("switch", name="Personalise my For You feed")
    expect(switch).to_be_checked()
    with page.expect_response(re.compile(r"/api/v1/feed/preferences$")) as saved:
        switch.uncheck()
    assert saved.value.request.method == "PUT" and saved.value.status == 200
    assert api.get("/api/v1/feed/preferences", headers=ada["headers"]).json()["personalised"] is False
    why.get_by_role("button", name="Close").click()

    # Comments: post one, reply to it; the count follows.
    page.locator(".slide.active").get_by_role("button", name="Comments").click()
    comments = page.locator("#comments-sheet")
    expect(comments.get_by_text("No comments yet")).to_be_visible()
    comments.get_by_label("Add a comment").fill("Is the <b>blue</b> one soft too?")
    comments.get_by_role("button", name="Post").click()
    expect(comments.get_by_text("Is the <b>blue</b> one soft too?")).to_be_visible()
    comments.get_by_role("button", name="Reply").first.click()
    comments.get_by_label("Add a comment").fill("Answering myself: yes")
    comments.get_by_role("button", name="Post").click()
    expect(comments.locator(".replies").get_by_text("Answering myself: yes")).to_be_visible()
    expect(comments.get_by_role("heading", name="2 comments")).to_be_visible()
    shot(page, "9-comments")
    comments.get_by_role("button", name="Close").click()
    expect(page.locator(".slide.active").get_by_role("button", name="Comments")).to_contain_text("2")

    # Share: a share link made for this video, shown to copy.
    page.locator(".slide.active").get_by_role("button", name="Share").click()
    share = page.locator("#share-sheet")
    expect(share.get_by_label("Link to this video")).to_have_value(re.compile(r"^http://.+/share/[\w-]{16}$"))
    assert api.get(f"/api/v1/videos/{watching}").json()["counts"]["shares"] == 1
    assert api.get(f"/api/v1/videos/{watching}", headers=ada["headers"]).json()["viewer"]["liked"] is True


def test_declined_card_in_the_sheet_then_another_card(
    request: pytest.FixtureRequest, page: Page, log_in: Callable[[str, str], None], api: httpx.Client,
    make_user: MakeUser, world: dict[str, Any],
) -> None:
    ada = make_user("ada")
    saved = api.post("/api/v1/me/addresses", headers=ada["headers"], json={**ADDRESS, "is_default": True})
    assert saved.status_code == 201, saved.text
    video = world["videos"][1]
    log_in("ada@example.com", ada["password"])

    # The video page: that video first.
    page.goto(f"/videos/{video['id']}")
    expect(page.locator(".slide.active")).to_have_attribute("data-video", str(video["id"]))
    expect_playing(page)
    page.locator(".slide.active").get_by_role("button", name=re.compile(r"^Shop the product")).click()
    sheet = page.locator("#product-sheet")
    sheet.get_by_role("button", name="Buy now").click()
    # The address book's default is chosen already.
    expect(sheet.get_by_role("radio", name=re.compile(r"Ada Buyer, 1 Market St"))).to_be_checked()
    sheet.get_by_role("button", name="Continue to payment").click()
    fill_card(sheet, DECLINED)
    sheet.get_by_role("button", name="Pay $10.00").click()
    alert = sheet.get_by_role("alert")
    expect(alert).to_contain_text("declined")
    expect(alert).to_contain_text("Nothing was charged")
    allow_console_errors(request, 402)
    shot(page, "5-declined")
    expect(page).to_have_url(re.compile(rf"/videos/{video['id']}$"))
    orders = api.get("/api/v1/orders", headers=ada["headers"]).json()["items"]
    assert [o["status"] for o in orders] == ["awaiting_payment"]

    # Another card pays the same order.
    fill_card(sheet, SUCCESS)
    sheet.get_by_role("button", name="Pay $10.00").click()
    expect(sheet.get_by_role("heading", name="Order placed — thank you!")).to_be_visible()
    orders = api.get("/api/v1/orders", headers=ada["headers"]).json()["items"]
    assert [o["status"] for o in orders] == ["paid"]
    expect(page).to_have_url(re.compile(rf"/videos/{video['id']}$"))


def test_upload_with_progress_then_on_the_profile(
    request: pytest.FixtureRequest, page: Page, log_in: Callable[[str, str], None], api: httpx.Client,
    make_user: MakeUser, make_shop: Callable[..., dict[str, Any]], make_product: Callable[..., dict[str, Any]],
    clip: Path, tmp_path: Path,
) -> None:
    nia = make_user("nia")
    assert api.patch("/api/v1/me", headers=nia["headers"], json={"handle": "nia.creates"}).status_code == 200
    shop = make_shop("nia-shop", owner=nia)
    lamp = make_product(shop, "Moon Lamp")
    log_in("nia@example.com", nia["password"])

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
    expect(page.get_by_role("heading", name="Upload a video")).to_be_visible()

    # A text file named .mp4 is refused by the server with a clear message next to the file field.
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video\n" * 100)
    page.locator("#video-file").set_input_files(str(fake))
    page.get_by_label("Caption").fill("My desk setup #desk")
    page.get_by_role("button", name="Post").click()
    expect(page.locator("#file-error")).to_be_visible()
    expect(page.locator("#file-error")).not_to_be_empty()
    allow_console_errors(request, 422)
    expect(page.get_by_label("Caption")).to_have_value("My desk setup #desk")  # nothing typed is lost

    # The real clip: caption counter, product picked, progress to 100 %, then the profile shows it.
    page.locator("#video-file").set_input_files(str(clip))
    expect(page.locator("#file-name")).to_have_text("clip.mp4")
    expect(page.locator("#caption-count")).to_have_text("19 / 2200")
    page.get_by_label("Moon Lamp").check()
    expect(page.locator("#anchor-count")).to_have_text("1 / 6")
    shot(page, "6-upload")
    page.get_by_role("button", name="Post").click()
    expect(page.locator("#progress")).to_have_attribute("value", "100")
    expect(page.locator("#upload-done")).to_contain_text("Your video is live")
    expect(page).to_have_url(re.compile(r"/@nia\.creates\?posted=\d+$"))
    video_id = int(page.url.rsplit("=", 1)[1])
    tile = page.locator(f'a.vtile[href="/videos/{video_id}"]')
    expect(tile).to_be_visible()
    shot(page, "7-profile-grid")
    video = api.get(f"/api/v1/videos/{video_id}").json()
    assert video["caption"] == "My desk setup #desk"
    assert [p["id"] for p in video["products"]] == [lamp["id"]]

    # The tile opens the player with that video first.
    tile.click()
    expect(page).to_have_url(re.compile(rf"/videos/{video_id}$"))
    expect(page.locator(".slide.active")).to_have_attribute("data-video", str(video_id))
    expect_playing(page)


def test_empty_for_you_says_what_to_do(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_text("No videos yet — upload the first one")).to_be_visible()
    expect(page.get_by_role("link", name="Upload a video")).to_have_attribute("href", "/login?next=/upload")
    shot(page, "8-empty")
