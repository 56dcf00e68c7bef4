"""Accounts API: profiles, mass assignment, follows, blocks, follower lists, avatars."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from mercato.config import Settings

User = dict[str, Any]
MakeUser = Callable[..., User]

PUBLIC_KEYS = {"id", "display_name", "handle", "bio", "niche_tags", "is_creator", "avatar_url", "followers_count",
               "following_count"}
MASS_ASSIGNMENT = {"is_admin": True, "role": "admin", "coins": 1e9, "is_verified": True, "followers_count": 999,
                   "following_count": 999, "is_creator": True, "id": 424242, "email": "hijack@example.com",
                   "password_hash": "x", "avatar_path": "../../etc/passwd"}


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body


def _me(api: httpx.Client, user: User) -> dict[str, Any]:
    response = api.get("/api/v1/me", headers=user["headers"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _profile(api: httpx.Client, user: User) -> dict[str, Any]:
    response = api.get(f"/api/v1/users/{user['user']['id']}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _counts(api: httpx.Client, user: User) -> tuple[int, int]:
    profile = _profile(api, user)
    return profile["followers_count"], profile["following_count"]


def _follow(api: httpx.Client, me: User, target: User) -> httpx.Response:
    return api.put(f"/api/v1/users/{target['user']['id']}/follow", headers=me["headers"])


def _png(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- profiles ------------------------------------------------------------------------------


def test_profile_by_id_and_by_handle(api: httpx.Client, make_user: MakeUser) -> None:
    user = make_user("profiled")
    response = api.patch("/api/v1/me", headers=user["headers"], json={"handle": "@Pro_File.1", "bio": "Hi there"})
    assert response.status_code == 200, response.text
    by_id = _profile(api, user)
    assert set(by_id) == PUBLIC_KEYS  # no email, no date of birth, no admin flag
    assert by_id == {
        "id": user["user"]["id"], "display_name": "Profiled", "handle": "pro_file.1", "bio": "Hi there",
        "niche_tags": [], "is_creator": False, "avatar_url": None, "followers_count": 0, "following_count": 0,
    }
    for ref in ("pro_file.1", "@pro_file.1", "PRO_FILE.1"):
        response = api.get(f"/api/v1/users/{ref}")
        assert response.status_code == 200, (ref, response.text)
        assert response.json() == by_id
    _assert_error(api.get("/api/v1/users/nobody_here"), 404, "not_found")
    _assert_error(api.get("/api/v1/users/999999"), 404, "not_found")


def test_patch_me_profile_fields(api: httpx.Client, make_user: MakeUser) -> None:
    user = make_user("editor")
    response = api.patch("/api/v1/me", headers=user["headers"], json={
        "display_name": "  Ed Itor  ", "bio": "I review serums", "handle": "Ed_Itor",
        "niche_tags": ["#Beauty", "beauty", " Skincare "],
    })
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["display_name"], body["bio"], body["handle"]) == ("Ed Itor", "I review serums", "ed_itor")
    assert body["niche_tags"] == ["beauty", "skincare"]
    assert body["is_creator"] is False
    assert _me(api, user) == body

    response = api.patch("/api/v1/me", headers=user["headers"], json={"become_creator": True})
    assert response.status_code == 200
    assert response.json()["is_creator"] is True
    assert _profile(api, user)["is_creator"] is True


def test_become_creator_needs_a_handle_and_changes_nothing(api: httpx.Client, make_user: MakeUser) -> None:
    user = make_user("nohandle")
    before = _me(api, user)
    body = _assert_error(api.patch("/api/v1/me", headers=user["headers"],
                                   json={"become_creator": True, "bio": "half-done?"}), 422, "handle_required")
    assert body["error"]["details"] == {"field": "handle"}
    assert _me(api, user) == before  # the bio of the same request was rolled back too

    response = api.patch("/api/v1/me", headers=user["headers"], json={"become_creator": True, "handle": "has_one"})
    assert response.status_code == 200
    assert (response.json()["is_creator"], response.json()["handle"]) == (True, "has_one")


def test_handle_taken_and_invalid(api: httpx.Client, make_user: MakeUser) -> None:
    first, second = make_user("first"), make_user("second")
    assert api.patch("/api/v1/me", headers=first["headers"], json={"handle": "taken"}).status_code == 200
    before = _me(api, second)
    for handle in ("taken", "TAKEN", "@taken"):
        body = _assert_error(api.patch("/api/v1/me", headers=second["headers"], json={"handle": handle, "bio": "b"}),
                             409, "handle_taken")
        assert body["error"]["details"] == {"field": "handle"}
    for handle in ("ab", "has space", "bad!", "x" * 31, "ünï"):
        body = _assert_error(api.patch("/api/v1/me", headers=second["headers"], json={"handle": handle}),
                             422, "validation_error")
        assert [d["field"] for d in body["error"]["details"]] == ["handle"]
    assert _me(api, second) == before
    # setting one's own handle again is fine
    assert api.patch("/api/v1/me", headers=first["headers"], json={"handle": "taken"}).status_code == 200


def test_patch_me_validation(api: httpx.Client, make_user: MakeUser) -> None:
    user = make_user("valid")
    before = _me(api, user)
    for payload, field in [
        ({"display_name": ""}, "display_name"),
        ({"bio": "x" * 501}, "bio"),
        ({"niche_tags": [f"t{i}" for i in range(11)]}, "niche_tags"),
        ({"niche_tags": ["   "]}, "niche_tags"),
    ]:
        body = _assert_error(api.patch("/api/v1/me", headers=user["headers"], json=payload), 422, "validation_error")
        assert body["error"]["details"][0]["field"] == field
    assert _me(api, user) == before
    _assert_error(api.patch("/api/v1/me", json={"bio": "anon"}), 401, "not_authenticated")


# --- mass assignment -----------------------------------------------------------------------


def test_mass_assignment_on_patch_me_is_ignored(api: httpx.Client, make_user: MakeUser) -> None:
    user = make_user("greedy")
    before = _me(api, user)
    response = api.patch("/api/v1/me", headers=user["headers"], json=MASS_ASSIGNMENT)
    assert response.status_code == 200, response.text
    assert response.json() == before
    after = _me(api, user)
    assert after == before
    assert (after["is_admin"], after["is_creator"], after["followers_count"], after["email"]) == (
        False, False, 0, "greedy@example.com")
    assert _profile(api, user)["followers_count"] == 0


def test_mass_assignment_on_register_is_ignored(api: httpx.Client) -> None:
    response = api.post("/api/v1/auth/register", json={
        **MASS_ASSIGNMENT, "email": "sneaky@example.com", "password": "correct-horse-1", "display_name": "Sneaky",
        "date_of_birth": "1990-01-01",
    })
    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert user["id"] != MASS_ASSIGNMENT["id"]
    assert (user["is_admin"], user["is_creator"], user["followers_count"], user["following_count"]) == (
        False, False, 0, 0)
    assert user["avatar_url"] is None
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json()['token']}"}).json()
    assert me == user


# --- follows and blocks --------------------------------------------------------------------


def test_follow_and_unfollow_are_idempotent_with_exact_counts(api: httpx.Client, make_user: MakeUser) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    for _ in range(2):
        response = _follow(api, alice, bob)
        assert response.status_code == 200, response.text
        assert response.json() == {"following": True, "blocked": False, "followers_count": 1}
    assert _counts(api, bob) == (1, 0)
    assert _counts(api, alice) == (0, 1)
    relation = api.get(f"/api/v1/users/{bob['user']['id']}/relation", headers=alice["headers"])
    assert relation.json() == {"following": True, "blocked": False, "followers_count": 1}
    reverse = api.get(f"/api/v1/users/{alice['user']['id']}/relation", headers=bob["headers"])
    assert reverse.json() == {"following": False, "blocked": False, "followers_count": 0}

    for _ in range(2):
        response = api.delete(f"/api/v1/users/{bob['user']['id']}/follow", headers=alice["headers"])
        assert response.status_code == 200
        assert response.json() == {"following": False, "blocked": False, "followers_count": 0}
    assert _counts(api, bob) == (0, 0)
    assert _counts(api, alice) == (0, 0)


def test_follow_by_handle_and_unknown_user(api: httpx.Client, make_user: MakeUser) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    api.patch("/api/v1/me", headers=bob["headers"], json={"handle": "bobby"})
    assert api.put("/api/v1/users/@bobby/follow", headers=alice["headers"]).json()["following"] is True
    _assert_error(api.put("/api/v1/users/999999/follow", headers=alice["headers"]), 404, "not_found")
    _assert_error(api.put(f"/api/v1/users/{bob['user']['id']}/follow"), 401, "not_authenticated")
    assert _counts(api, bob) == (1, 0)
    assert _counts(api, alice) == (0, 1)


def test_self_follow_is_refused(api: httpx.Client, make_user: MakeUser) -> None:
    narcissus = make_user("narcissus")
    _assert_error(_follow(api, narcissus, narcissus), 422, "self_follow")
    _assert_error(api.put(f"/api/v1/users/{narcissus['user']['id']}/block", headers=narcissus["headers"]),
                  422, "self_block")
    assert _counts(api, narcissus) == (0, 0)


def test_block_removes_follows_both_ways_and_stops_new_ones(api: httpx.Client, make_user: MakeUser) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    assert _follow(api, alice, bob).status_code == 200
    assert _follow(api, bob, alice).status_code == 200
    assert _follow(api, carol, alice).status_code == 200
    assert _counts(api, alice) == (2, 1)

    response = api.put(f"/api/v1/users/{bob['user']['id']}/block", headers=alice["headers"])
    assert response.status_code == 200
    assert response.json() == {"following": False, "blocked": True, "followers_count": 0}
    assert _counts(api, alice) == (1, 0)  # carol still follows alice
    assert _counts(api, bob) == (0, 0)

    # neither side can follow while the block stands; nothing changes
    _assert_error(_follow(api, bob, alice), 403, "blocked")
    _assert_error(_follow(api, alice, bob), 403, "blocked")
    assert _counts(api, alice) == (1, 0)
    assert _counts(api, bob) == (0, 0)
    followers = api.get(f"/api/v1/users/{alice['user']['id']}/followers").json()
    assert [u["id"] for u in followers["items"]] == [carol["user"]["id"]]

    # blocking twice is harmless; unblocking lets follows happen again
    assert api.put(f"/api/v1/users/{bob['user']['id']}/block", headers=alice["headers"]).status_code == 200
    response = api.delete(f"/api/v1/users/{bob['user']['id']}/block", headers=alice["headers"])
    assert response.json() == {"following": False, "blocked": False, "followers_count": 0}
    assert _follow(api, bob, alice).json()["followers_count"] == 2
    assert _counts(api, bob) == (0, 1)


def test_followers_and_following_lists_page_with_cursors(api: httpx.Client, make_user: MakeUser) -> None:
    star = make_user("star")
    fans = [make_user(f"fan{i}") for i in range(5)]
    for fan in fans:
        assert _follow(api, fan, star).status_code == 200
    expected = [fan["user"]["id"] for fan in reversed(fans)]  # newest first

    seen: list[int] = []
    pages = 0
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = api.get(f"/api/v1/users/{star['user']['id']}/followers", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        assert len(page["items"]) == (2 if pages < 3 else 1)
        assert all(set(item) == PUBLIC_KEYS for item in page["items"])
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    assert seen == expected  # no duplicates, no gaps, newest first

    whole = api.get(f"/api/v1/users/{star['user']['id']}/followers").json()
    assert [u["id"] for u in whole["items"]] == expected and whole["next_cursor"] is None
    following = api.get(f"/api/v1/users/{fans[0]['user']['id']}/following").json()
    assert [u["id"] for u in following["items"]] == [star["user"]["id"]]
    assert api.get(f"/api/v1/users/{star['user']['id']}/following").json() == {"items": [], "next_cursor": None}
    _assert_error(api.get(f"/api/v1/users/{star['user']['id']}/followers", params={"cursor": "%%%"}),
                  422, "invalid_cursor")
    _assert_error(api.get(f"/api/v1/users/{star['user']['id']}/followers", params={"limit": 0}),
                  422, "validation_error")


# --- avatars -------------------------------------------------------------------------------


def test_avatar_upload_is_reencoded_and_served(api: httpx.Client, make_user: MakeUser, settings: Settings) -> None:
    user = make_user("pictured")
    response = api.post("/api/v1/me/avatar", headers=user["headers"],
                        files={"file": ("me.png", _png((800, 600)), "image/png")})
    assert response.status_code == 200, response.text
    url = response.json()["avatar_url"]
    assert url.startswith(f"/media/avatars/{user['user']['id']}/") and url.endswith("-thumb.webp")
    assert _me(api, user)["avatar_url"] == url
    assert _profile(api, user)["avatar_url"] == url

    served = api.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "WEBP"
        assert max(image.size) == 480  # thumbnailed
    assert (settings.media_dir / url.removeprefix("/media/")).is_file()


def test_text_file_named_png_is_refused(api: httpx.Client, make_user: MakeUser, settings: Settings) -> None:
    user = make_user("faker")
    first = api.post("/api/v1/me/avatar", headers=user["headers"], files={"file": ("ok.png", _png(), "image/png")})
    assert first.status_code == 200
    before = _me(api, user)
    folder = settings.media_dir / "avatars" / str(user["user"]["id"])
    files_before = _files_under(folder)

    for data in (b"this is not an image, just text\n" * 20, b"", _png()[:60]):
        response = api.post("/api/v1/me/avatar", headers=user["headers"],
                            files={"file": ("evil.png", data, "image/png")})
        _assert_error(response, 422, "invalid_image")
    assert _me(api, user) == before
    assert _files_under(folder) == files_before


def test_oversized_avatar_is_refused(api: httpx.Client, make_user: MakeUser, settings: Settings) -> None:
    user = make_user("huge")
    before = _me(api, user)
    folder = settings.media_dir / "avatars" / str(user["user"]["id"])
    files_before = _files_under(folder)  # the media folder outlives the per-test database
    data = _png() + b"\0" * (settings.max_image_bytes + 1 - len(_png()))
    assert len(data) == settings.max_image_bytes + 1
    response = api.post("/api/v1/me/avatar", headers=user["headers"], files={"file": ("big.png", data, "image/png")})
    _assert_error(response, 413, "image_too_large")
    assert _me(api, user) == before
    assert _files_under(folder) == files_before


def test_avatar_needs_a_session(api: httpx.Client) -> None:
    _assert_error(api.post("/api/v1/me/avatar", files={"file": ("a.png", _png(), "image/png")}), 401,
                  "not_authenticated")
