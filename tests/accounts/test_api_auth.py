"""Accounts API: registration, log-in, throttling, sessions, password change, cookie + CSRF."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import auth

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


def _today() -> date:
    return datetime.now(UTC).date()


def _years_ago(years: int) -> date:
    today = _today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _register_body(email: str, dob: date | str = "1990-01-01", password: str = "correct-horse-1",
                   **extra: Any) -> dict[str, Any]:
    return {"email": email, "password": password, "display_name": "Someone", "date_of_birth": str(dob), **extra}


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


def _login(api: httpx.Client, email: str, password: str) -> httpx.Response:
    return api.post(LOGIN, json={"email": email, "password": password})


# --- registration --------------------------------------------------------------------------


def test_register_returns_a_working_bearer_token(api: httpx.Client) -> None:
    response = api.post(REGISTER, json=_register_body("Ann@Example.com"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"token", "expires_at", "user"}
    assert len(body["token"]) >= 40
    user = body["user"]
    assert user["email"] == "ann@example.com"
    assert user["display_name"] == "Someone"
    assert user["date_of_birth"] == "1990-01-01"
    assert (user["is_admin"], user["is_creator"], user["handle"]) == (False, False, None)
    assert (user["followers_count"], user["following_count"]) == (0, 0)
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)

    me = api.get("/api/v1/me", headers=auth(body["token"]))
    assert me.status_code == 200, me.text
    assert me.json() == user


def test_me_without_or_with_a_bad_token(api: httpx.Client) -> None:
    _assert_error(api.get("/api/v1/me"), 401, "not_authenticated")
    _assert_error(api.get("/api/v1/me", headers=auth("not-a-token")), 401, "invalid_session")


def test_under_13_is_refused_and_exactly_13_is_accepted(api: httpx.Client) -> None:
    too_young = _years_ago(13) + timedelta(days=1)
    body = _assert_error(api.post(REGISTER, json=_register_body("kid@example.com", too_young)), 422, "too_young")
    assert body["error"]["details"] == {"field": "date_of_birth"}
    _assert_error(_login(api, "kid@example.com", "correct-horse-1"), 401, "invalid_credentials")

    response = api.post(REGISTER, json=_register_body("teen@example.com", _years_ago(13)))
    assert response.status_code == 201, response.text
    assert response.json()["user"]["is_adult"] is False


def test_future_date_of_birth_is_refused(api: httpx.Client) -> None:
    tomorrow = _today() + timedelta(days=1)
    body = _assert_error(api.post(REGISTER, json=_register_body("future@example.com", tomorrow)), 422,
                         "invalid_date_of_birth")
    assert body["error"]["details"] == {"field": "date_of_birth"}
    _assert_error(_login(api, "future@example.com", "correct-horse-1"), 401, "invalid_credentials")


def test_duplicate_email_is_a_conflict_whatever_the_case(api: httpx.Client) -> None:
    first = api.post(REGISTER, json=_register_body("dup@example.com", password="first-password"))
    assert first.status_code == 201
    for email in ("dup@example.com", "DUP@Example.COM", "Dup@example.com"):
        body = _assert_error(api.post(REGISTER, json=_register_body(email, password="second-password")), 409,
                             "email_taken")
        assert body["error"]["details"] == {"field": "email"}
    # the original account is untouched: its password still works, the second one does not
    assert _login(api, "dup@example.com", "first-password").status_code == 200
    _assert_error(_login(api, "dup@example.com", "second-password"), 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"password": "short"}, "password"),
        ({"display_name": ""}, "display_name"),
        ({"date_of_birth": "yesterday"}, "date_of_birth"),
    ],
)
def test_invalid_registration_input(api: httpx.Client, changes: dict[str, str], field: str) -> None:
    payload = {**_register_body("valid@example.com"), **changes}
    body = _assert_error(api.post(REGISTER, json=payload), 422, "validation_error")
    details = body["error"]["details"]
    assert isinstance(details, list) and details
    assert all(set(d) == {"field", "message"} for d in details)
    assert [d["field"] for d in details] == [field]
    assert body["error"]["message"].startswith(f"{field}: ")
    _assert_error(_login(api, payload["email"] or "valid@example.com", payload["password"] or "x"), 401,
                  "invalid_credentials")


def test_missing_body_fields(api: httpx.Client) -> None:
    body = _assert_error(api.post(REGISTER, json={}), 422, "validation_error")
    assert sorted(d["field"] for d in body["error"]["details"]) == [
        "date_of_birth", "display_name", "email", "password",
    ]


def test_is_adult(make_user: Callable[..., dict[str, Any]]) -> None:
    assert make_user(dob=str(_years_ago(15)))["user"]["is_adult"] is False
    assert make_user(dob=str(_years_ago(30)))["user"]["is_adult"] is True
    assert make_user(dob=str(_years_ago(18)))["user"]["is_adult"] is True
    assert make_user(dob=str(_years_ago(18) + timedelta(days=1)))["user"]["is_adult"] is False


# --- log-in and throttling -----------------------------------------------------------------


def test_login_gives_a_new_working_token(api: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> None:
    user = make_user("logan")
    response = _login(api, "LOGAN@example.com", user["password"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] != user["token"]
    assert body["user"]["id"] == user["user"]["id"]
    for token in (body["token"], user["token"]):
        assert api.get("/api/v1/me", headers=auth(token)).json()["email"] == "logan@example.com"


def test_wrong_password_and_unknown_email_give_the_same_answer(
    api: httpx.Client, make_user: Callable[..., dict[str, Any]]
) -> None:
    make_user("known")
    wrong = _login(api, "known@example.com", "wrong-password")
    unknown = _login(api, "nobody@example.com", "wrong-password")
    _assert_error(wrong, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == {"code": "invalid_credentials", "message": "Email or password is incorrect.",
                                     "details": None}
    assert wrong.status_code == unknown.status_code == 401


def test_login_validation(api: httpx.Client) -> None:
    body = _assert_error(api.post(LOGIN, json={"email": "", "password": ""}), 422, "validation_error")
    assert sorted(d["field"] for d in body["error"]["details"]) == ["email", "password"]


def test_throttling_after_five_failures_is_per_email(
    api: httpx.Client, make_user: Callable[..., dict[str, Any]], settings: Any
) -> None:
    victim = make_user("victim")
    other = make_user("other")
    assert settings.login_max_failures_per_email == 5
    for _ in range(5):
        _assert_error(_login(api, "victim@example.com", "guess-123"), 401, "invalid_credentials")
    # the sixth attempt is refused even with the right password
    throttled = _login(api, "victim@example.com", victim["password"])
    body = _assert_error(throttled, 429, "login_throttled")
    assert throttled.headers["Retry-After"] == str(settings.login_window_seconds)
    assert body["error"]["details"] == {"retry_after": settings.login_window_seconds}
    # same answer for a differently-cased email
    _assert_error(_login(api, "Victim@Example.com", victim["password"]), 429, "login_throttled")
    # no global lock-out: another account logs in from the same client
    assert _login(api, "other@example.com", other["password"]).status_code == 200
    # and the victim's existing session keeps working
    assert api.get("/api/v1/me", headers=victim["headers"]).status_code == 200


def test_four_failures_do_not_throttle_and_success_resets(
    api: httpx.Client, make_user: Callable[..., dict[str, Any]]
) -> None:
    user = make_user("careful")
    for _ in range(4):
        _assert_error(_login(api, "careful@example.com", "nope-nope"), 401, "invalid_credentials")
    assert _login(api, "careful@example.com", user["password"]).status_code == 200
    # the successful log-in cleared the count: four more failures are still not throttled
    for _ in range(4):
        _assert_error(_login(api, "careful@example.com", "nope-nope"), 401, "invalid_credentials")
    assert _login(api, "careful@example.com", user["password"]).status_code == 200


def test_unknown_email_is_throttled_too(api: httpx.Client) -> None:
    for _ in range(5):
        _assert_error(_login(api, "ghost@example.com", "guess-123"), 401, "invalid_credentials")
    _assert_error(_login(api, "ghost@example.com", "guess-123"), 429, "login_throttled")


# --- logout and password change ------------------------------------------------------------


def test_logout_revokes_only_that_token(api: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> None:
    user = make_user("leaver")
    second = _login(api, "leaver@example.com", user["password"]).json()["token"]
    response = api.post("/api/v1/auth/logout", headers=user["headers"])
    assert response.status_code == 204
    assert response.content == b""
    _assert_error(api.get("/api/v1/me", headers=user["headers"]), 401, "invalid_session")
    _assert_error(api.post("/api/v1/auth/logout", headers=user["headers"]), 401, "invalid_session")
    _assert_error(api.patch("/api/v1/me", headers=user["headers"], json={"bio": "x"}), 401, "invalid_session")
    me = api.get("/api/v1/me", headers=auth(second))
    assert me.status_code == 200
    assert me.json()["bio"] == ""


def test_password_change_revokes_every_session(api: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> None:
    user = make_user("changer")
    other_session = _login(api, "changer@example.com", user["password"]).json()["token"]
    response = api.post("/api/v1/auth/password", headers=user["headers"],
                        json={"current_password": user["password"], "new_password": "brand-new-secret"})
    assert response.status_code == 200, response.text
    new_token = response.json()["token"]
    assert new_token not in (user["token"], other_session)
    for old in (user["token"], other_session):
        _assert_error(api.get("/api/v1/me", headers=auth(old)), 401, "invalid_session")
    assert api.get("/api/v1/me", headers=auth(new_token)).json()["id"] == user["user"]["id"]
    _assert_error(_login(api, "changer@example.com", user["password"]), 401, "invalid_credentials")
    assert _login(api, "changer@example.com", "brand-new-secret").status_code == 200


def test_password_change_with_wrong_current_password(
    api: httpx.Client, make_user: Callable[..., dict[str, Any]]
) -> None:
    user = make_user("forgetful")
    response = api.post("/api/v1/auth/password", headers=user["headers"],
                        json={"current_password": "not-my-password", "new_password": "brand-new-secret"})
    body = _assert_error(response, 422, "wrong_password")
    assert body["error"]["details"] == {"field": "current_password"}
    assert api.get("/api/v1/me", headers=user["headers"]).status_code == 200
    assert _login(api, "forgetful@example.com", user["password"]).status_code == 200
    _assert_error(_login(api, "forgetful@example.com", "brand-new-secret"), 401, "invalid_credentials")


def test_password_change_validation(api: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> None:
    user = make_user("validator")
    _assert_error(api.post("/api/v1/auth/password", headers=user["headers"],
                           json={"current_password": user["password"], "new_password": user["password"]}),
                  422, "same_password")
    body = _assert_error(api.post("/api/v1/auth/password", headers=user["headers"],
                                  json={"current_password": user["password"], "new_password": "short"}),
                         422, "validation_error")
    assert [d["field"] for d in body["error"]["details"]] == ["new_password"]
    _assert_error(api.post("/api/v1/auth/password", json={"current_password": "a", "new_password": "bbbbbbbb"}),
                  401, "not_authenticated")
    assert api.get("/api/v1/me", headers=user["headers"]).status_code == 200
    assert _login(api, "validator@example.com", user["password"]).status_code == 200


# --- web log-in: session cookie and CSRF ---------------------------------------------------


@pytest.fixture
def web(server: str) -> Iterator[httpx.Client]:
    """A browser-like client; tests pass cookies explicitly (an explicit Cookie header wins over the jar)."""
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def _web_login(web: httpx.Client, email: str, password: str) -> tuple[httpx.Response, str]:
    """Log in through the HTML form; returns the POST answer and the CSRF token."""
    page = web.get("/login")
    assert page.status_code == 200
    csrf = page.cookies["mercato_csrf"]
    assert f'name="csrf_token" value="{csrf}"' in page.text
    response = web.post("/login", data={"csrf_token": csrf, "email": email, "password": password, "next": "/"},
                        headers={"Cookie": f"mercato_csrf={csrf}"})
    return response, csrf


def _cookie_headers(session: str, csrf: str, header: str | None = None) -> dict[str, str]:
    headers = {"Cookie": f"mercato_session={session}; mercato_csrf={csrf}"}
    if header is not None:
        headers["X-CSRF-Token"] = header
    return headers


def test_web_login_sets_an_http_only_session_cookie(
    web: httpx.Client, make_user: Callable[..., dict[str, Any]]
) -> None:
    user = make_user("webby")
    response, _ = _web_login(web, "webby@example.com", user["password"])
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    set_cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("mercato_session=")]
    assert len(set_cookie) == 1
    attributes = [part.strip().lower() for part in set_cookie[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    session = response.cookies["mercato_session"]
    me = web.get("/api/v1/me", headers={"Cookie": f"mercato_session={session}"})
    assert me.status_code == 200
    assert me.json()["id"] == user["user"]["id"]


def test_web_login_without_csrf_is_refused(web: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> None:
    user = make_user("nocsrf")
    response = web.post("/login", data={"email": "nocsrf@example.com", "password": user["password"]})
    assert response.status_code == 403
    assert "mercato_session" not in response.cookies


def test_web_login_with_wrong_password(web: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> None:
    make_user("webwrong")
    response, _ = _web_login(web, "webwrong@example.com", "wrong-password")
    assert response.status_code == 401
    assert "mercato_session" not in response.cookies
    assert "Email or password is incorrect." in response.text


def test_cookie_session_needs_the_csrf_header_for_unsafe_requests(
    web: httpx.Client, api: httpx.Client, make_user: Callable[..., dict[str, Any]]
) -> None:
    user = make_user("cookie")
    response, csrf = _web_login(web, "cookie@example.com", user["password"])
    session = response.cookies["mercato_session"]
    before = api.get("/api/v1/me", headers=user["headers"]).json()

    attempts = [
        _cookie_headers(session, csrf),  # no header
        _cookie_headers(session, csrf, "x" * len(csrf)),  # wrong header
        {"Cookie": f"mercato_session={session}", "X-CSRF-Token": csrf},  # header but no CSRF cookie
    ]
    for headers in attempts:
        denied = web.patch("/api/v1/me", headers=headers, json={"bio": "pwned"})
        _assert_error(denied, 403, "csrf_failed")
        denied = web.post("/api/v1/shops", headers=headers,
                            json={"name": "Evil", "slug": "evil-shop", "currency": "USD"})
        _assert_error(denied, 403, "csrf_failed")
    assert api.get("/api/v1/me", headers=user["headers"]).json() == before
    assert api.get("/api/v1/shops/evil-shop").status_code == 404

    # safe requests need no header
    assert web.get("/api/v1/me", headers=_cookie_headers(session, csrf)).json() == before

    allowed = web.patch("/api/v1/me", headers=_cookie_headers(session, csrf, csrf), json={"bio": "hello"})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["bio"] == "hello"
    assert api.get("/api/v1/me", headers=user["headers"]).json() == {**before, "bio": "hello"}


def test_bearer_requests_need_no_csrf_header(api: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> None:
    user = make_user("bearer")
    response = api.patch("/api/v1/me", headers=user["headers"], json={"bio": "via bearer"})
    assert response.status_code == 200
    assert response.json()["bio"] == "via bearer"
