"""The Following feed and search across videos, products, creators and hashtags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx


def test_following_feed_is_followed_creators_newest_first(
    api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int],
) -> None:
    star, other = make_user(), make_user()
    assert api.patch("/api/v1/me", headers=star["headers"], json={"handle": "the_star"}).status_code == 200
    mine = [make_video(star["user"]["id"], ("style",), age_hours=50 - i) for i in range(5)]  # newest last
    make_video(other["user"]["id"], ("style",), age_hours=1)
    fan = make_user()
    assert api.get("/api/v1/feed/following").status_code == 401
    assert api.get("/api/v1/feed/following", headers=fan["headers"]).json()["items"] == []
    api.put("/api/v1/users/the_star/follow", headers=fan["headers"])
    first = api.get("/api/v1/feed/following", headers=fan["headers"], params={"limit": 3}).json()
    assert [i["video"]["id"] for i in first["items"]] == mine[::-1][:3]
    assert first["items"][0]["reason"] == {"signal": "following", "text": "You follow @the_star"}
    second = api.get("/api/v1/feed/following", headers=fan["headers"],
                     params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [i["video"]["id"] for i in second["items"]] == mine[::-1][3:]
    assert second["next_cursor"] is None
    assert api.get("/api/v1/feed/following", headers=fan["headers"],
                   params={"cursor": "bad!"}).json()["error"]["code"] == "invalid_cursor"


def test_search_across_videos_products_creators_and_hashtags(
    api: httpx.Client, make_user: Callable[..., Any], make_video: Callable[..., int],
    make_shop: Callable[..., Any], make_product: Callable[..., Any],
) -> None:
    maker = make_user("ramenmaker")
    assert api.patch("/api/v1/me", headers=maker["headers"], json={"handle": "ramen_queen"}).status_code == 200
    cid = maker["user"]["id"]
    a = make_video(cid, ("ramen", "noodles"), caption="Midnight ramen #ramen #noodles")
    b = make_video(cid, ("ramenhacks",), caption="Three hacks #ramenhacks")
    make_video(cid, ("pasta",), caption="Pasta night #pasta")
    shop = make_shop()
    product = make_product(shop, "Ramen Bowl Set")
    make_product(shop, "Tea Kettle")

    body = api.get("/api/v1/search", params={"q": "ramen"}).json()
    assert body["type"] == "all"
    assert sorted(v["id"] for v in body["videos"]) == sorted([a, b])
    assert [p["id"] for p in body["products"]] == [product["id"]]
    assert [c["handle"] for c in body["creators"]] == ["ramen_queen"]
    assert body["hashtags"] == [{"tag": "ramen", "videos_count": 1, "url": "/tag/ramen"},
                                {"tag": "ramenhacks", "videos_count": 1, "url": "/tag/ramenhacks"}]

    tags = api.get("/api/v1/search", params={"q": "#ramenh", "type": "hashtags"}).json()
    assert tags["hashtags"] == [{"tag": "ramenhacks", "videos_count": 1, "url": "/tag/ramenhacks"}]
    assert tags["videos"] == [] and tags["products"] == []

    page1 = api.get("/api/v1/search", params={"q": "ramen", "type": "videos", "limit": 1}).json()
    page2 = api.get("/api/v1/search", params={"q": "ramen", "type": "videos", "limit": 1,
                                              "cursor": page1["next_cursor"]}).json()
    assert len(page1["videos"]) == 1 and len(page2["videos"]) == 1
    assert {page1["videos"][0]["id"], page2["videos"][0]["id"]} == {a, b}
    assert page2["next_cursor"] is None

    assert api.get("/api/v1/search", params={"q": "  "}).json()["error"]["code"] == "empty_query"
    assert api.get("/api/v1/search", params={"q": "x", "type": "songs"}).status_code == 422
    assert api.get("/api/v1/search", params={"q": "nothing-matches-this"}).json()["videos"] == []
