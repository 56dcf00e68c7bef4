"""Reading, editing and deleting videos; anchors; captions; creator grids and hashtag pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from mercato.config import Settings
from tests.content.conftest import DbRun, count_videos

Factory = Callable[..., dict[str, Any]]


def test_another_user_cannot_edit_or_delete_my_video(
    api: httpx.Client, make_user: Factory, post_video: Factory, make_admin: Callable[[], dict[str, Any]],
    settings: Settings, db_run: DbRun
) -> None:
    me, other = make_user(), make_user()
    video = post_video(me, caption="mine #original")
    url = f"/api/v1/videos/{video['id']}"
    files = [settings.media_dir / video["media_url"].removeprefix("/media/"),
             settings.media_dir / video["poster_url"].removeprefix("/media/")]
    edit = api.patch(url, headers=other["headers"], json={"caption": "stolen"})
    assert edit.status_code == 403 and edit.json()["error"]["code"] == "forbidden"
    delete = api.delete(url, headers=other["headers"])
    assert delete.status_code == 403
    assert api.delete(url).status_code == 401
    after = api.get(url).json()
    assert after["caption"] == "mine #original" and after["hashtags"] == ["original"]
    assert all(f.exists() for f in files)
    # An operator may not edit it either, but may delete it.
    admin = make_admin()
    assert api.patch(url, headers=admin["headers"], json={"caption": "x"}).status_code == 403
    # The creator edits and deletes; the files go with the video.
    edited = api.patch(url, headers=me["headers"], json={"caption": "new words #Fresh"})
    assert edited.status_code == 200 and edited.json()["hashtags"] == ["fresh"]
    assert api.delete(url, headers=me["headers"]).status_code == 204
    assert api.get(url).status_code == 404
    assert api.delete(url, headers=me["headers"]).status_code == 404
    assert count_videos(db_run) == 0
    assert not any(f.exists() for f in files)
    assert api.get(video["media_url"]).status_code == 404
    other_video = post_video(other)
    assert api.delete(f"/api/v1/videos/{other_video['id']}", headers=admin["headers"]).status_code == 204


def test_anchors_permissions_limits_and_order(
    api: httpx.Client, make_user: Factory, make_shop: Factory, make_product: Factory, post_video: Factory,
    upload: Callable[..., httpx.Response], settings: Settings, clips: dict[str, Path], in_plan: Factory
) -> None:
    seller = make_user()
    shop = make_shop(owner=seller)
    mine = [make_product(shop, f"Mine {i}") for i in range(7)]
    draft = make_product(shop, "Draft", status="draft")
    other_shop = make_shop()
    closed = make_product(other_shop, "Closed")
    opened = make_product(other_shop, "Open")
    creator = make_user()
    # An affiliate plan of the other shop covering "Open" lets its members feature it (docs/affiliate.md).
    plan = in_plan(other_shop, [opened], seller, creator)

    # Members anchor their shop's products in the order given (duplicates dropped).
    order = [mine[2]["id"], mine[0]["id"], mine[2]["id"], opened["id"]]
    video = post_video(seller, product_ids=order)
    assert [p["id"] for p in video["products"]] == [mine[2]["id"], mine[0]["id"], opened["id"]]
    card = video["products"][0]
    assert card["shop"]["slug"] == shop["slug"] and card["price_display"] == "$19.99"
    assert card["url"] == f"/products/{mine[2]['id']}" and card["in_stock"] is True

    too_many = upload(seller, product_ids=[p["id"] for p in mine])
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "too_many_anchors"
    for pid, status, code in ((closed["id"], 403, "anchor_not_allowed"), (draft["id"], 422, "product_unavailable"),
                              (999_999, 422, "product_unavailable")):
        response = upload(seller, product_ids=[pid])
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    bad = api.post("/api/v1/videos", headers=seller["headers"], data={"product_ids": "1,abc"},
                   files={"file": ("a.mp4", b"x", "video/mp4")})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_product_ids"

    # A creator outside the shop: only products of plans they are in; comma-separated ids work too.
    assert upload(creator, product_ids=[mine[0]["id"]]).status_code == 403
    response = api.post("/api/v1/videos", headers=creator["headers"],
                        data={"product_ids": f"{opened['id']}"},
                        files={"file": ("clip.mp4", clips["mp4"].read_bytes(), "video/mp4")})
    assert response.status_code == 201, response.text
    assert [p["id"] for p in response.json()["products"]] == [opened["id"]]
    anchorable = api.get("/api/v1/me/anchorable-products", headers=creator["headers"]).json()["items"]
    assert [p["id"] for p in anchorable] == [opened["id"]]

    # Editing anchors: same rules; an empty list clears them.
    url = f"/api/v1/videos/{video['id']}"
    limit = settings.max_video_anchors
    assert api.patch(url, headers=seller["headers"],
                     json={"product_ids": [p["id"] for p in mine[: limit + 1]]}).status_code == 422
    denied = api.patch(url, headers=creator["headers"], json={"product_ids": []})
    assert denied.status_code == 403
    reordered = api.patch(url, headers=seller["headers"], json={"product_ids": [opened["id"], mine[5]["id"]]})
    assert [p["id"] for p in reordered.json()["products"]] == [opened["id"], mine[5]["id"]]
    # An archived product disappears from the cards.
    assert api.delete(f"/api/v1/products/{mine[5]['id']}", headers=seller["headers"]).status_code == 204
    assert [p["id"] for p in api.get(url).json()["products"]] == [opened["id"]]
    cleared = api.patch(url, headers=seller["headers"], json={"product_ids": []})
    assert cleared.json()["products"] == []
    # The shop pauses its plan: its products can no longer be featured by the plan's creators.
    paused = api.patch(f"/api/v1/shops/{other_shop['slug']}/affiliate/plans/{plan['id']}",
                       headers=other_shop["owner"]["headers"], json={"status": "paused"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    refused = upload(creator, product_ids=[opened["id"]])
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "anchor_not_allowed")


def test_seller_center_form_no_longer_offers_open_to_creators(api: httpx.Client, make_shop: Factory,
                                                              make_product: Factory, make_user: Factory,
                                                              upload: Callable[..., httpx.Response]) -> None:
    """Affiliate plans replaced the flag: the form does not offer it, and the deprecated API field
    no longer lets anyone feature the product."""
    shop = make_shop()
    product = make_product(shop, "Toggle", open_to_creators=True)
    owner = shop["owner"]["headers"]
    page = api.get(f"/seller/{shop['slug']}/products/{product['id']}", headers=owner)
    assert page.status_code == 200 and 'name="open_to_creators"' not in page.text
    assert f'href="/seller/{shop["slug"]}/affiliate"' in page.text
    refused = upload(make_user(), product_ids=[product["id"]])
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "anchor_not_allowed")


def test_caption_is_returned_as_text_parts_never_html(
    api: httpx.Client, make_user: Factory, post_video: Factory, set_handle: Callable[[dict[str, Any], str], None]
) -> None:
    friend = make_user()
    set_handle(friend, "real_friend")
    me = make_user()
    caption = '<script>alert("x")</script> hi @real_friend and @nobody_here #Été #été #Summer_2026 a#b mail@x.io'
    video = post_video(me, caption=caption)
    assert video["caption"] == caption
    parts = video["caption_parts"]
    assert "".join(p["text"] for p in parts) == caption
    assert parts[0] == {"type": "text", "text": '<script>alert("x")</script> hi ', "href": None}
    mentions = [p for p in parts if p["type"] == "mention"]
    assert mentions == [{"type": "mention", "text": "@real_friend", "href": "/@real_friend"}]
    tags = [(p["text"], p["href"]) for p in parts if p["type"] == "hashtag"]
    assert tags == [("#Été", "/tag/%C3%A9t%C3%A9"), ("#été", "/tag/%C3%A9t%C3%A9"),
                    ("#Summer_2026", "/tag/summer_2026")]
    assert video["hashtags"] == ["été", "summer_2026"]
    # Control characters go; too long and too many hashtags are refused.
    cleaned = api.patch(f"/api/v1/videos/{video['id']}", headers=me["headers"], json={"caption": "a\x07b\r\nc "})
    assert cleaned.json()["caption"] == "ab\nc"
    # NUL is refused before the route, on every database alike (kit/limits.py), and nothing changes.
    nul = api.patch(f"/api/v1/videos/{video['id']}", headers=me["headers"], json={"caption": "a\x00b"})
    assert nul.status_code == 422 and nul.json()["error"]["code"] == "validation_error"
    assert api.get(f"/api/v1/videos/{video['id']}", headers=me["headers"]).json()["caption"] == "ab\nc"
    long = api.patch(f"/api/v1/videos/{video['id']}", headers=me["headers"], json={"caption": "x" * 2201})
    assert long.status_code == 422 and long.json()["error"]["code"] == "caption_too_long"
    many = " ".join(f"#t{i}" for i in range(31))
    refused = api.patch(f"/api/v1/videos/{video['id']}", headers=me["headers"], json={"caption": many})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "too_many_hashtags"


def test_creator_grid_and_hashtag_pages(
    api: httpx.Client, make_user: Factory, post_video: Factory, set_handle: Callable[[dict[str, Any], str], None],
    make_admin: Callable[[], dict[str, Any]]
) -> None:
    me = make_user()
    set_handle(me, "grid_maker")
    ids = [post_video(me, caption=f"clip {i} #Grid" + (" #odd" if i % 2 else ""))["id"] for i in range(5)]
    first = api.get("/api/v1/users/grid_maker/videos", params={"limit": 2}).json()
    assert [v["id"] for v in first["items"]] == ids[::-1][:2]
    second = api.get("/api/v1/users/grid_maker/videos", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = api.get("/api/v1/users/grid_maker/videos", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [v["id"] for v in second["items"] + third["items"]] == ids[::-1][2:]
    assert third["next_cursor"] is None
    assert api.get(f"/api/v1/users/{me['user']['id']}/videos").json()["items"][0]["id"] == ids[-1]
    assert api.get("/api/v1/users/nobody_at_all/videos").status_code == 404
    assert api.get("/api/v1/users/grid_maker/videos", params={"cursor": "!!"}).status_code == 422

    new = api.get("/api/v1/hashtags/GRID/videos", params={"sort": "new"}).json()
    assert new["tag"] == "grid" and new["video_count"] == 5 and [v["id"] for v in new["items"]] == ids[::-1]
    odd = api.get("/api/v1/hashtags/%23odd/videos", params={"sort": "new"}).json()
    assert [v["id"] for v in odd["items"]] == [ids[3], ids[1]]
    # "top" ranks by engagement and pages without repeats.
    fan = make_user()
    api.post(f"/api/v1/videos/{ids[1]}/like", headers=fan["headers"])
    api.post(f"/api/v1/videos/{ids[1]}/comments", headers=fan["headers"], json={"body": "wow"})
    api.post(f"/api/v1/videos/{ids[3]}/like", headers=fan["headers"])
    top: list[int] = []
    cursor = None
    while True:
        page = api.get("/api/v1/hashtags/grid/videos", params={"sort": "top", "limit": 2, "cursor": cursor}).json()
        top += [v["id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert top[:2] == [ids[1], ids[3]] and sorted(top) == sorted(ids)
    top_cursor = api.get("/api/v1/hashtags/grid/videos", params={"sort": "top", "limit": 1}).json()["next_cursor"]
    mixed = api.get("/api/v1/hashtags/grid/videos", params={"sort": "new", "cursor": top_cursor})
    assert mixed.status_code == 422
    assert api.get("/api/v1/hashtags/not a tag!/videos").status_code == 404
    # A removed video leaves the tag page and the public grid, not the creator's own grid.
    admin = make_admin()
    assert api.post(f"/api/v1/admin/videos/{ids[0]}/takedown", headers=admin["headers"],
                    json={"reason": "spam"}).status_code == 200
    assert api.get("/api/v1/hashtags/grid/videos").json()["video_count"] == 4
    public = [v["id"] for v in api.get("/api/v1/users/grid_maker/videos").json()["items"]]
    own = api.get("/api/v1/users/grid_maker/videos", headers=me["headers"]).json()["items"]
    assert ids[0] not in public and ids[0] in [v["id"] for v in own]
    assert [v["status"] for v in own if v["id"] == ids[0]] == ["removed"]


def test_creator_name_and_profile_link_with_and_without_a_handle(
    api: httpx.Client, make_user: Factory, post_video: Factory, set_handle: Callable[[dict[str, Any], str], None]
) -> None:
    plain, known = make_user(), make_user()
    set_handle(known, "known.maker")
    nameless = post_video(plain)["creator"]
    assert nameless["handle"] is None
    assert nameless["name"] == nameless["display_name"] and nameless["url"] == f"/u/{nameless['id']}"
    handled = post_video(known)["creator"]
    assert (handled["name"], handled["url"]) == ("@known.maker", "/@known.maker")
