"""The video pages over plain HTTP: they render, say what to do when empty, escape captions, answer 404
for what does not exist (or may not be seen), keep moderation to operators, and the upload page offers
exactly the products the creator may anchor."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

MakeUser = Callable[..., dict[str, Any]]
PostVideo = Callable[..., dict[str, Any]]
SetHandle = Callable[[dict[str, Any], str], None]

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
RAW_MARKERS = ("<script>alert", "<img src=x", "</script><img")
CSRF = "t" * 43


def _initial(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="feed-initial">(.*?)</script>', html, re.S)
    assert found, "no embedded first page"
    assert "<" not in found.group(1), "the embedded JSON must not be able to close its <script>"
    body: dict[str, Any] = json.loads(found.group(1))
    return body


@pytest.fixture
def forms(server: str) -> Iterator[httpx.Client]:
    """A client holding a CSRF cookie, for the page forms (bearer header + the same token as a field)."""
    with httpx.Client(base_url=server, timeout=60, cookies={"mercato_csrf": CSRF}) as client:
        yield client


@pytest.fixture
def creator(make_user: MakeUser, set_handle: SetHandle) -> dict[str, Any]:
    user = make_user("maya")
    set_handle(user, "maya.makes")
    return user


def test_pages_render(api: httpx.Client, creator: dict[str, Any], make_user: MakeUser,
                      post_video: PostVideo) -> None:
    video = post_video(creator, "Morning glow #serum with @maya.makes")
    viewer = make_user("viewer")
    for path, text in {
        "/": "For You", f"/videos/{video['id']}": "Video by @maya.makes", "/tag/serum": "#serum",
        "/tag/SERUM?sort=new": "1 video", "/search": "Search for videos, products, creators",
        "/search?q=glow": "Videos", "/search?q=serum&type=hashtags": "#serum", "/@maya.makes": "Videos",
        "/following": "Log in to see videos from the creators you follow",
    }.items():
        response = api.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        assert response.headers["content-type"].startswith("text/html")
        assert text in response.text, f"{path} does not show {text!r}"
    # The player pages carry their first page as the API's JSON, and link the player script and styles.
    home = api.get("/", headers=viewer["headers"]).text
    assert [i["video"]["id"] for i in _initial(home)["items"]] == [video["id"]]
    assert '<script type="module" src="/static/js/feed.js"></script>' in home
    assert '/static/css/video.css' in home
    page = api.get(f"/videos/{video['id']}").text
    first = _initial(page)["items"][0]["video"]
    assert first["id"] == video["id"] and first["caption"] == "Morning glow #serum with @maya.makes"
    assert 'data-continue="/api/v1/feed/foryou"' in page
    # The grid on the profile and the hashtag page links the video, with its poster.
    for path in ("/@maya.makes", "/tag/serum"):
        html = api.get(path).text
        assert f'href="/videos/{video["id"]}"' in html
        assert video["poster_url"] in html
    # Logged in: Upload in the navigation; the upload page itself.
    assert 'href="/upload"' in api.get("/shop", headers=viewer["headers"]).text
    assert 'href="/upload"' not in api.get("/shop").text
    upload = api.get("/upload", headers=viewer["headers"])
    assert upload.status_code == 200 and "Upload a video" in upload.text


def test_empty_states(api: httpx.Client, creator: dict[str, Any], make_user: MakeUser) -> None:
    home = api.get("/")
    assert "No videos yet — upload the first one" in home.text
    assert _initial(home.text)["items"] == []
    assert 'href="/login?next=/upload"' in home.text
    assert 'href="/upload"' in api.get("/", headers=creator["headers"]).text
    following = api.get("/following", headers=creator["headers"])
    assert following.status_code == 200 and "Follow creators to see their videos here" in following.text
    assert "No videos with #nothinghere yet" in api.get("/tag/nothinghere").text
    assert "Nothing matches “zebra crossing”" in api.get("/search", params={"q": "zebra crossing"}).text
    assert "No videos yet — " in api.get("/@maya.makes", headers=creator["headers"]).text  # own profile: upload link
    assert 'href="/upload"' in api.get("/@maya.makes", headers=creator["headers"]).text
    assert "No videos yet." in api.get("/@maya.makes").text


def test_captions_and_names_are_escaped(api: httpx.Client, make_user: MakeUser, set_handle: SetHandle,
                                        post_video: PostVideo, make_admin: Callable[[], dict[str, Any]]) -> None:
    mallory = make_user("mallory")
    set_handle(mallory, "mallory")
    profile = api.patch("/api/v1/me", headers=mallory["headers"], json={"display_name": XSS})
    assert profile.status_code == 200, profile.text
    video = post_video(mallory, f"{XSS} #xss")
    reporter = make_user("reporter")
    reported = api.post(f"/api/v1/videos/{video['id']}/reports", headers=reporter["headers"],
                        json={"reason": "spam", "details": XSS})
    assert reported.status_code == 201, reported.text
    admin = make_admin()
    pages = ["/", f"/videos/{video['id']}", "/tag/xss", "/@mallory", f"/search?q={XSS}", "/search?q=xss",
             "/admin/video-reports"]
    for path in pages:
        response = api.get(path, headers=admin["headers"])
        assert response.status_code == 200, f"{path}: {response.status_code}"
        for marker in RAW_MARKERS:
            assert marker not in response.text, f"{path} contains the raw {marker!r}"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in api.get("/admin/video-reports", headers=admin["headers"]).text
    assert "&lt;script&gt;" in api.get("/@mallory").text  # the display name
    assert _initial(api.get(f"/videos/{video['id']}").text)["items"][0]["video"]["caption"] == f"{XSS} #xss"


def test_not_found(api: httpx.Client, creator: dict[str, Any], make_user: MakeUser, post_video: PostVideo,
                   make_admin: Callable[[], dict[str, Any]]) -> None:
    for path in ("/videos/999999", "/videos/abc", "/tag/no%20such%20tag!", "/u/999999/videos", "/@nobody.here"):
        response = api.get(path)
        assert response.status_code == 404, f"{path}: {response.status_code}"
        assert "Not found" in response.text
    assert api.get("/videos/0").status_code == 422  # an id is 1 to 2^63-1 (docs/api.md)
    # A video taken down is gone for others, still there (with the reason) for its creator.
    video = post_video(creator, "soon gone")
    admin = make_admin()
    down = api.post(f"/api/v1/admin/videos/{video['id']}/takedown", headers=admin["headers"],
                    json={"reason": "Misleading claims"})
    assert down.status_code == 200, down.text
    assert api.get(f"/videos/{video['id']}").status_code == 404
    assert api.get(f"/videos/{video['id']}", headers=make_user()["headers"]).status_code == 404
    own = api.get(f"/videos/{video['id']}", headers=creator["headers"])
    assert own.status_code == 200 and "Taken down: Misleading claims" in own.text
    assert f'href="/videos/{video["id"]}"' not in api.get("/@maya.makes").text
    assert "Taken down" in api.get("/@maya.makes", headers=creator["headers"]).text


def test_moderation_page_is_for_operators(api: httpx.Client, forms: httpx.Client, creator: dict[str, Any],
                                          make_user: MakeUser, post_video: PostVideo,
                                          make_admin: Callable[[], dict[str, Any]]) -> None:
    video = post_video(creator, "Totally real giveaway")
    reporter = make_user("reporter")
    report = api.post(f"/api/v1/videos/{video['id']}/reports", headers=reporter["headers"],
                      json={"reason": "scam", "details": "asks for card numbers"})
    assert report.status_code == 201, report.text

    anonymous = api.get("/admin/video-reports", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
    assert api.get("/admin/video-reports", headers=reporter["headers"]).status_code == 403
    assert forms.post(f"/admin/videos/{video['id']}/takedown", headers=reporter["headers"],
                      data={"csrf_token": CSRF}).status_code == 403

    admin = make_admin()
    listing = api.get("/admin/video-reports", headers=admin["headers"])
    assert listing.status_code == 200
    assert "asks for card numbers" in listing.text and "Scam" in listing.text
    assert f'action="/admin/videos/{video["id"]}/takedown"' in listing.text

    # Without the CSRF token the form is refused; with it the video goes down and the report is upheld.
    assert api.post(f"/admin/videos/{video['id']}/takedown", headers=admin["headers"],
                    data={"reason": "Scam"}).status_code == 403
    taken = forms.post(f"/admin/videos/{video['id']}/takedown", headers=admin["headers"], follow_redirects=False,
                       data={"csrf_token": CSRF, "reason": "Scam", "status": "open"})
    assert taken.status_code == 303 and taken.headers["location"] == "/admin/video-reports?status=open&done=removed"
    assert api.get(f"/videos/{video['id']}").status_code == 404
    assert "No open reports" in api.get("/admin/video-reports", headers=admin["headers"]).text
    upheld = api.get("/admin/video-reports?status=upheld", headers=admin["headers"]).text
    assert "asks for card numbers" in upheld and f'action="/admin/videos/{video["id"]}/restore"' in upheld

    restored = forms.post(f"/admin/videos/{video['id']}/restore", headers=admin["headers"], follow_redirects=False,
                          data={"csrf_token": CSRF, "status": "upheld"})
    assert restored.status_code == 303
    assert api.get(f"/videos/{video['id']}").status_code == 200

    # A second report, dismissed: the video stays up.
    other = make_user("other")
    second = api.post(f"/api/v1/videos/{video['id']}/reports", headers=other["headers"],
                      json={"reason": "other", "details": "meh"})
    assert second.status_code == 201, second.text
    dismissed = forms.post(f"/admin/video-reports/{second.json()['id']}/dismiss", headers=admin["headers"],
                           follow_redirects=False, data={"csrf_token": CSRF})
    assert dismissed.status_code == 303
    assert "meh" in api.get("/admin/video-reports?status=dismissed", headers=admin["headers"]).text
    assert api.get(f"/videos/{video['id']}").status_code == 200


def test_upload_page_offers_the_products_the_creator_may_anchor(
    api: httpx.Client, creator: dict[str, Any], make_shop: Callable[..., dict[str, Any]],
    make_product: Callable[..., dict[str, Any]], in_plan: Callable[..., dict[str, Any]],
) -> None:
    mine = make_shop("maya-goods", owner=creator)
    own = make_product(mine, "My Own Serum")
    make_product(mine, "My Draft", status="draft")
    theirs = make_shop("other-shop")
    open_one = make_product(theirs, "Open Tote")
    make_product(theirs, "Closed Lamp")
    in_plan(theirs, [open_one], creator)

    anonymous = api.get("/upload", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/upload"
    html = api.get("/upload", headers=creator["headers"]).text
    assert "My Own Serum" in html and "Open Tote" in html
    assert "Closed Lamp" not in html and "My Draft" not in html
    assert f'name="product_ids" value="{own["id"]}"' in html
    assert f'name="product_ids" value="{open_one["id"]}"' in html
    assert 'data-max-anchors="6"' in html
    assert '<progress id="progress" max="100" value="0">' in html


def test_grids_load_more(api: httpx.Client, creator: dict[str, Any], post_video: PostVideo,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    from mercato.content import pages

    monkeypatch.setattr(pages, "GRID_PAGE", 2)  # the app runs in this process (a server thread)
    ids = [post_video(creator, f"clip {n} #daily")["id"] for n in range(3)]
    profile = api.get("/@maya.makes").text
    shown = [int(v) for v in re.findall(r'class="vtile" href="/videos/(\d+)"', profile)]
    assert shown == ids[::-1][:2]  # newest first
    more = re.search(r'hx-get="(/u/\d+/videos\?cursor=[^"]+)"', profile)
    assert more, "no load-more link"
    rest = api.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert rest.status_code == 200 and "<html" not in rest.text  # a fragment for htmx
    assert [int(v) for v in re.findall(r'href="/videos/(\d+)"', rest.text)] == ids[:1]
    assert "hx-get" not in rest.text  # the end
    # The hashtag page pages the same way, top and new.
    for sort in ("top", "new"):
        first = api.get(f"/tag/daily?sort={sort}").text
        link = re.search(r'hx-get="(/tag/daily\?sort=' + sort + r'&amp;cursor=[^"]+)"', first)
        assert link, sort
        tail = api.get(link.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"}).text
        assert len(re.findall(r'class="vtile"', first)) + len(re.findall(r'class="vtile"', tail)) == 3
    # A forged cursor starts the hashtag page again instead of failing.
    assert api.get("/tag/daily?sort=new&cursor=nonsense", follow_redirects=False).status_code in (303, 200)
