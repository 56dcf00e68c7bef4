"""Rate limits on the routes (issue 18, item 6): each refused request answers ``429 rate_limited``
with ``Retry-After`` and the error shape (an error page on page routes) and writes nothing.
Sign-up, comments, password changes, coupon codes and search run at their production rates;
the other rules at a small rate set for the test (the mechanism is the same)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Follow, User
from mercato.content.models import Video, VideoComment, VideoReport, VideoShare

_n = itertools.count(1)


def refused(response: httpx.Response, rule: str, window_seconds: int) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == "rate_limited"
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= window_seconds
    assert error["details"]["retry_after"] == retry
    assert error["details"]["rule"] == rule
    assert error["message"].endswith(".") and "Try again in" in error["message"]
    return error


@pytest.fixture
def video(db_run: Callable[..., Any], make_user: Callable[..., Any]) -> Callable[[], int]:
    """A published video row (no media needed for comments, shares and reports)."""
    creator = make_user()["user"]["id"]

    def create() -> int:
        async def write(db: AsyncSession) -> int:
            n = next(_n)
            item = Video(creator_id=creator, caption=f"clip {n}", media_path=f"videos/limits-{n}.mp4",
                         duration_ms=5000, width=720, height=1280, created_at=datetime.now(UTC),
                         updated_at=datetime.now(UTC))
            db.add(item)
            await db.flush()
            return int(item.id)

        result: int = db_run(write)
        return result

    return create


def register(api: httpx.Client, email: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return api.post("/api/v1/auth/register", headers=headers or {}, json={
        "email": email, "password": "correct-horse-1", "display_name": "Someone", "date_of_birth": "1990-01-01"})


def test_sign_up_is_limited_per_address_on_the_api_and_the_page(
    production_limits: None, api: httpx.Client, server: str, count_rows: Callable[[Any], int],
) -> None:
    for i in range(20):  # MERCATO_RATE_LIMIT_SIGNUP: 20/hour;100/day per client address
        assert register(api, f"real{i}@example.com").status_code == 201
    error = refused(register(api, "script@example.com"), "signup", 3600)
    assert error["message"].startswith("Too many accounts were created from your network.")
    assert count_rows(User) == 20
    login = api.post("/api/v1/auth/login", json={"email": "script@example.com", "password": "correct-horse-1"})
    assert login.status_code == 401

    # The sign-up form spends the same budget, and says so on a page.
    with httpx.Client(base_url=server, timeout=60) as web:
        csrf = web.get("/signup").cookies["mercato_csrf"]
        page = web.post("/signup", data={"csrf_token": csrf, "email": "form@example.com", "password": "correct-horse-1",
                                         "display_name": "Form", "date_of_birth": "1990-01-01"})
    assert page.status_code == 429
    assert page.headers["content-type"].startswith("text/html")
    assert 1 <= int(page.headers["Retry-After"]) <= 3600
    assert "Slow down" in page.text and "Too many accounts were created from your network." in page.text
    assert count_rows(User) == 20

    # Another network (a proxy's X-Forwarded-For, trusted from the loopback) has its own budget.
    assert register(api, "elsewhere@example.com", {"X-Forwarded-For": "203.0.113.7"}).status_code == 201


def test_comments_are_limited_per_user(
    production_limits: None, api: httpx.Client, make_user: Callable[..., Any], video: Callable[[], int],
    count_rows: Callable[[Any], int],
) -> None:
    clip = video()
    chatty, other = make_user(), make_user()
    for i in range(20):  # MERCATO_RATE_LIMIT_COMMENT: 20/minute;500/day
        response = api.post(f"/api/v1/videos/{clip}/comments", headers=chatty["headers"], json={"body": f"nice {i}"})
        assert response.status_code == 201, response.text
    refused(api.post(f"/api/v1/videos/{clip}/comments", headers=chatty["headers"], json={"body": "spam"}),
            "comment", 60)
    assert count_rows(VideoComment) == 20
    assert api.get(f"/api/v1/videos/{clip}").json()["counts"]["comments"] == 20
    answer = api.post(f"/api/v1/videos/{clip}/comments", headers=other["headers"], json={"body": "hello"})
    assert answer.status_code == 201


def test_current_password_guessing_is_limited(
    production_limits: None, api: httpx.Client, make_user: Callable[..., Any],
) -> None:
    victim = make_user()
    for i in range(10):  # MERCATO_RATE_LIMIT_PASSWORD: 10/hour per user
        guess = api.post("/api/v1/auth/password", headers=victim["headers"],
                         json={"current_password": f"guess-{i}", "new_password": "taken-over-1"})
        assert guess.status_code == 422 and guess.json()["error"]["code"] == "wrong_password"
    right = api.post("/api/v1/auth/password", headers=victim["headers"],
                     json={"current_password": victim["password"], "new_password": "taken-over-1"})
    refused(right, "password", 3600)
    # Nothing changed: the session still works and the old password still logs in.
    assert api.get("/api/v1/me", headers=victim["headers"]).status_code == 200
    login = api.post("/api/v1/auth/login", json={"email": victim["user"]["email"], "password": victim["password"]})
    assert login.status_code == 200


def test_coupon_codes_are_limited_on_preview_and_quote(
    production_limits: None, api: httpx.Client, make_user: Callable[..., Any], make_shop: Callable[..., Any],
) -> None:
    shop = make_shop()
    guesser = make_user()
    orders = [{"shop_id": shop["id"], "currency": "USD", "subtotal": 5000}]
    for i in range(20):  # MERCATO_RATE_LIMIT_COUPON: 20/minute;200/day
        guess = api.post("/api/v1/coupons/preview", headers=guesser["headers"],
                         json={"codes": [f"GUESS{i}"], "orders": orders})
        assert guess.status_code != 429, guess.text
        assert guess.json()["error"]["code"] == "coupon_not_found"
    last = api.post("/api/v1/coupons/preview", headers=guesser["headers"], json={"codes": ["SAVE10"], "orders": orders})
    refused(last, "coupon", 60)
    # The checkout quote answers for coupon codes too: same budget; without codes it is not a guess.
    refused(api.post("/api/v1/checkout/quote", headers=guesser["headers"], json={"coupon_codes": ["SAVE10"]}),
            "coupon", 60)
    assert api.post("/api/v1/checkout/quote", headers=guesser["headers"], json={}).status_code != 429
    # So does the checkout page when it shows totals with codes.
    page = api.get("/checkout", params={"coupon_codes": "SAVE10"}, headers=guesser["headers"])
    assert page.status_code == 429 and "Too many coupon codes were tried." in page.text
    assert api.get("/checkout", headers=guesser["headers"]).status_code == 200


def test_search_is_limited_per_user_or_address_on_the_api_and_the_page(
    production_limits: None, api: httpx.Client, make_user: Callable[..., Any],
) -> None:
    for _ in range(60):  # MERCATO_RATE_LIMIT_SEARCH: 60/minute
        assert api.get("/api/v1/search", params={"q": "tote"}).status_code == 200
    refused(api.get("/api/v1/search", params={"q": "tote"}), "search", 60)
    page = api.get("/search", params={"q": "tote"})
    assert page.status_code == 429 and "Slow down" in page.text and "You are searching too fast." in page.text
    assert api.get("/api/v1/search", params={"q": "tote"}, headers=make_user()["headers"]).status_code == 200


def test_shares_reports_and_follows_are_limited(
    set_rates: Callable[..., None], api: httpx.Client, make_user: Callable[..., Any], video: Callable[[], int],
    count_rows: Callable[[Any], int],
) -> None:
    set_rates(share="2/hour", report="2/hour", follow="2/hour")
    clips = [video() for _ in range(3)]
    for _ in range(2):
        assert api.post(f"/api/v1/videos/{clips[0]}/shares", json={"channel": "link"}).status_code == 201
    refused(api.post(f"/api/v1/videos/{clips[0]}/shares", json={"channel": "link"}), "share", 3600)
    assert count_rows(VideoShare) == 2

    reporter = make_user()
    for clip in clips[:2]:
        assert api.post(f"/api/v1/videos/{clip}/reports", headers=reporter["headers"],
                        json={"reason": "spam"}).status_code == 201
    refused(api.post(f"/api/v1/videos/{clips[2]}/reports", headers=reporter["headers"], json={"reason": "spam"}),
            "report", 3600)
    assert count_rows(VideoReport) == 2

    fan, stars = make_user(), [make_user() for _ in range(3)]
    for star in stars[:2]:
        assert api.put(f"/api/v1/users/{star['user']['id']}/follow", headers=fan["headers"]).status_code == 200
    refused(api.put(f"/api/v1/users/{stars[2]['user']['id']}/follow", headers=fan["headers"]), "follow", 3600)
    assert count_rows(Follow) == 2
