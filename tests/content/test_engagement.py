"""Likes, saves, comments, shares, reports, moderation and product-card clicks — each also a
ranking signal (feed_events) in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.content.models import VideoShare
from mercato.feed.models import FeedEvent
from tests.content.conftest import DbRun

Factory = Callable[..., dict[str, Any]]


def _events(db_run: DbRun, video_id: int) -> list[tuple[int | None, str]]:
    async def read(session: AsyncSession) -> list[tuple[int | None, str]]:
        rows = await session.execute(select(FeedEvent.user_id, FeedEvent.kind).where(FeedEvent.video_id == video_id)
                                     .order_by(FeedEvent.id))
        return [(r[0], r[1]) for r in rows.all()]

    result: list[tuple[int | None, str]] = db_run(read)
    return result


def test_likes_and_saves_are_idempotent_and_counted(api: httpx.Client, make_user: Factory, post_video: Factory,
                                                    db_run: DbRun) -> None:
    creator, fan, other = make_user(), make_user(), make_user()
    video = post_video(creator)
    base = f"/api/v1/videos/{video['id']}"
    assert api.post(f"{base}/like").status_code == 401
    assert api.post(f"{base}/like", headers=fan["headers"]).json() == {"liked": True, "likes_count": 1}
    assert api.post(f"{base}/like", headers=fan["headers"]).json() == {"liked": True, "likes_count": 1}
    assert api.post(f"{base}/like", headers=other["headers"]).json()["likes_count"] == 2
    assert api.delete(f"{base}/like", headers=fan["headers"]).json() == {"liked": False, "likes_count": 1}
    assert api.delete(f"{base}/like", headers=fan["headers"]).json() == {"liked": False, "likes_count": 1}
    assert api.post(f"{base}/save", headers=fan["headers"]).json() == {"saved": True, "saves_count": 1}
    assert api.post(f"{base}/save", headers=fan["headers"]).json() == {"saved": True, "saves_count": 1}
    body = api.get(base, headers=other["headers"]).json()
    assert body["counts"]["likes"] == 1 and body["counts"]["saves"] == 1
    assert body["viewer"] == {"liked": True, "saved": False, "following": False}
    assert api.get(base).json()["viewer"] == {"liked": False, "saved": False, "following": False}
    saved = api.get("/api/v1/me/saved-videos", headers=fan["headers"]).json()["items"]
    assert [v["id"] for v in saved] == [video["id"]] and saved[0]["viewer"]["saved"] is True
    assert api.delete(f"{base}/save", headers=fan["headers"]).json() == {"saved": False, "saves_count": 0}
    assert api.delete(f"{base}/save", headers=fan["headers"]).json() == {"saved": False, "saves_count": 0}
    assert api.post("/api/v1/videos/999999/like", headers=fan["headers"]).status_code == 404
    # Only real changes are signals: like, like, unlike, save.
    assert [k for _, k in _events(db_run, video["id"])] == ["like", "like", "unlike", "save"]
    # Following the creator shows in the viewer block.
    assert api.put(f"/api/v1/users/{creator['user']['id']}/follow", headers=fan["headers"]).status_code == 200
    assert api.get(base, headers=fan["headers"]).json()["viewer"]["following"] is True
    assert api.get(base, headers=creator["headers"]).json()["viewer"]["following"] is False


def test_comments_thread_one_level(api: httpx.Client, make_user: Factory, post_video: Factory,
                                   make_admin: Callable[[], dict[str, Any]], db_run: DbRun) -> None:
    creator, a, b = make_user(), make_user(), make_user()
    video = post_video(creator)
    base = f"/api/v1/videos/{video['id']}"
    top = api.post(f"{base}/comments", headers=a["headers"], json={"body": "  first!  "})
    assert top.status_code == 201 and top.json()["body"] == "first!" and top.json()["parent_id"] is None
    top_id = top.json()["id"]
    reply = api.post(f"{base}/comments", headers=b["headers"], json={"body": "reply", "parent_id": top_id}).json()
    nested = api.post(f"{base}/comments", headers=creator["headers"],
                      json={"body": "<b>reply to reply</b>", "parent_id": reply["id"]}).json()
    assert reply["parent_id"] == top_id and nested["parent_id"] == top_id  # attached to the top-level comment
    assert nested["by_creator"] is True
    api.post(f"{base}/comments", headers=a["headers"], json={"body": "third reply", "parent_id": top_id})
    second = api.post(f"{base}/comments", headers=b["headers"], json={"body": "second top"}).json()

    page = api.get(f"{base}/comments").json()
    assert [c["id"] for c in page["items"]] == [second["id"], top_id]  # newest first
    first = page["items"][1]
    assert first["replies_count"] == 3
    assert [r["body"] for r in first["replies"]] == ["reply", "<b>reply to reply</b>"]  # first two, oldest first
    assert api.get(base).json()["counts"]["comments"] == 5
    replies = api.get(f"/api/v1/comments/{top_id}/replies", params={"limit": 2}).json()
    assert len(replies["items"]) == 2 and replies["next_cursor"]
    rest = api.get(f"/api/v1/comments/{top_id}/replies", params={"cursor": replies["next_cursor"]}).json()
    assert [r["body"] for r in rest["items"]] == ["third reply"] and rest["next_cursor"] is None
    paged = api.get(f"{base}/comments", params={"limit": 1}).json()
    assert len(paged["items"]) == 1
    assert api.get(f"{base}/comments", params={"cursor": paged["next_cursor"]}).json()["items"][0]["id"] == top_id

    # Validation.
    for payload, code in (({"body": "   "}, "comment_empty"), ({"body": "x" * 501}, "comment_too_long")):
        response = api.post(f"{base}/comments", headers=a["headers"], json=payload)
        assert response.status_code == 422 and response.json()["error"]["code"] == code
    elsewhere = post_video(creator)
    wrong_parent = api.post(f"/api/v1/videos/{elsewhere['id']}/comments", headers=a["headers"],
                            json={"body": "x", "parent_id": top_id})
    assert wrong_parent.status_code == 422 and wrong_parent.json()["error"]["code"] == "invalid_parent"
    assert api.post(f"{base}/comments", json={"body": "anon"}).status_code == 401

    # Deleting: author, creator or operator; others 403. A top-level comment takes its replies.
    assert api.delete(f"/api/v1/comments/{reply['id']}", headers=a["headers"]).status_code == 403
    assert api.delete(f"/api/v1/comments/{reply['id']}", headers=b["headers"]).status_code == 204
    assert api.get(f"{base}/comments").json()["items"][1]["replies_count"] == 2
    assert api.get(base).json()["counts"]["comments"] == 4
    assert api.delete(f"/api/v1/comments/{second['id']}", headers=creator["headers"]).status_code == 204
    admin = make_admin()
    assert api.delete(f"/api/v1/comments/{top_id}", headers=admin["headers"]).status_code == 204
    assert api.get(f"{base}/comments").json()["items"] == []
    assert api.get(base).json()["counts"]["comments"] == 0
    assert api.delete(f"/api/v1/comments/{top_id}", headers=admin["headers"]).status_code == 404
    assert [k for _, k in _events(db_run, video["id"])].count("comment") == 5


def test_share_links_count_visits(api: httpx.Client, make_user: Factory, post_video: Factory,
                                  db_run: DbRun) -> None:
    creator, fan = make_user(), make_user()
    video = post_video(creator)
    shared = api.post(f"/api/v1/videos/{video['id']}/shares", headers=fan["headers"], json={"channel": "whatsapp"})
    assert shared.status_code == 201, shared.text
    body = shared.json()
    assert body["url"].endswith(f"/share/{body['token']}") and body["shares_count"] == 1
    anonymous = api.post(f"/api/v1/videos/{video['id']}/shares", json={})
    assert anonymous.status_code == 201 and anonymous.json()["shares_count"] == 2
    assert api.post(f"/api/v1/videos/{video['id']}/shares", json={"channel": "pigeon"}).status_code == 422
    for _ in range(3):
        visit = api.get(f"/share/{body['token']}", follow_redirects=False)
        assert visit.status_code == 303 and visit.headers["location"] == f"/videos/{video['id']}"
        assert "mercato_share=" in visit.headers["set-cookie"]
    assert api.get("/share/unknown-token", follow_redirects=False).status_code == 404

    async def read(session: AsyncSession) -> list[tuple[int | None, str, int]]:
        rows = await session.execute(select(VideoShare.user_id, VideoShare.channel, VideoShare.visits_count)
                                     .order_by(VideoShare.id))
        return [(r[0], r[1], r[2]) for r in rows.all()]

    assert db_run(read) == [(fan["user"]["id"], "whatsapp", 3), (None, "link", 0)]
    assert api.get(f"/api/v1/videos/{video['id']}").json()["counts"]["shares"] == 2
    assert _events(db_run, video["id"]) == [(fan["user"]["id"], "share"), (None, "share")]


def test_reports_takedown_restore_and_dismiss(api: httpx.Client, make_user: Factory, post_video: Factory,
                                              make_admin: Callable[[], dict[str, Any]]) -> None:
    creator, a, b = make_user(), make_user(), make_user()
    video = post_video(creator, caption="questionable")
    url = f"/api/v1/videos/{video['id']}"
    first = api.post(f"{url}/reports", headers=a["headers"], json={"reason": "spam", "details": "buy now!!"})
    assert first.status_code == 201 and first.json()["status"] == "open"
    again = api.post(f"{url}/reports", headers=a["headers"], json={"reason": "scam"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reported"
    assert api.post(f"{url}/reports", headers=b["headers"], json={"reason": "bogus"}).status_code == 422
    assert api.post(f"{url}/reports", headers=creator["headers"], json={"reason": "spam"}).status_code == 422
    api.post(f"{url}/reports", headers=b["headers"], json={"reason": "scam"})

    admin = make_admin()
    assert api.get("/api/v1/admin/video-reports", headers=a["headers"]).status_code == 403
    assert api.post(f"/api/v1/admin/videos/{video['id']}/takedown", headers=a["headers"],
                    json={"reason": "no"}).status_code == 403
    queue = api.get("/api/v1/admin/video-reports", headers=admin["headers"]).json()["items"]
    assert [r["reason"] for r in queue] == ["spam", "scam"] and queue[0]["video"]["id"] == video["id"]

    down = api.post(f"/api/v1/admin/videos/{video['id']}/takedown", headers=admin["headers"],
                    json={"reason": "Scam links"})
    assert down.status_code == 200 and down.json()["status"] == "removed"
    assert api.post(f"/api/v1/admin/videos/{video['id']}/takedown", headers=admin["headers"],
                    json={"reason": "again"}).status_code == 409
    # Removed: 404 to everyone but the creator (who sees the reason) and operators.
    assert api.get(url).status_code == 404
    assert api.get(url, headers=a["headers"]).status_code == 404
    assert api.post(f"{url}/like", headers=a["headers"]).status_code == 404
    assert api.get(f"{url}/comments").status_code == 404
    assert api.patch(url, headers=a["headers"], json={"caption": "x"}).status_code == 404
    own = api.get(url, headers=creator["headers"]).json()
    assert own["status"] == "removed" and own["removed_reason"] == "Scam links"
    assert api.get(url, headers=admin["headers"]).status_code == 200
    assert api.get("/api/v1/admin/video-reports", headers=admin["headers"]).json()["items"] == []
    upheld = api.get("/api/v1/admin/video-reports", params={"status": "upheld"}, headers=admin["headers"]).json()
    assert len(upheld["items"]) == 2

    restored = api.post(f"/api/v1/admin/videos/{video['id']}/restore", headers=admin["headers"])
    assert restored.status_code == 200 and restored.json()["status"] == "published"
    assert restored.json()["removed_reason"] is None
    assert api.post(f"/api/v1/admin/videos/{video['id']}/restore", headers=admin["headers"]).status_code == 409
    assert api.get(url).status_code == 200

    c = make_user()
    report = api.post(f"{url}/reports", headers=c["headers"], json={"reason": "other"}).json()
    dismissed = api.post(f"/api/v1/admin/video-reports/{report['id']}/dismiss", headers=admin["headers"])
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    assert api.post(f"/api/v1/admin/video-reports/{report['id']}/dismiss",
                    headers=admin["headers"]).status_code == 409
    assert api.post("/api/v1/admin/video-reports/999999/dismiss", headers=admin["headers"]).status_code == 404


def test_product_card_clicks(api: httpx.Client, make_user: Factory, make_shop: Factory, make_product: Factory,
                             post_video: Factory, db_run: DbRun) -> None:
    shop = make_shop()
    product = make_product(shop)
    other = make_product(shop, "Not on the video")
    video = post_video(shop["owner"], product_ids=[product["id"]])
    url = f"/api/v1/videos/{video['id']}/product-clicks"
    fan = make_user()
    assert api.post(url, headers=fan["headers"], json={"product_id": product["id"]}).status_code == 204
    assert api.post(url, json={"product_id": product["id"]}).status_code == 204
    missing = api.post(url, json={"product_id": other["id"]})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_anchored"
    assert _events(db_run, video["id"]) == [(fan["user"]["id"], "product_click"), (None, "product_click")]
