"""The API's edge as one mechanism (kit/http.py, kit/fields.py): complete ``Allow`` headers and
``OPTIONS``, no literal path taken by a parameter route, one id type on every route, malformed
JSON answered alike whatever is wrong with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.convertors import IntegerConvertor

from mercato.app import ROUTERS
from mercato.kit import limits
from mercato.kit.fields import MAX_ID


def _routes() -> list[APIRoute]:
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


#: A shop may be called "shops": ``GET /seller/shops`` is then its Seller Center (the literal
#: route only takes ``POST``, the new-shop form), and ``Allow`` lists both routes' methods.
SLUG_MAY_BE_A_WORD = {("/seller/shops", "/seller/{slug}")}


def test_no_literal_path_is_shadowed_by_a_parameter_route() -> None:
    """``/coupons/preview`` must never reach ``/coupons/{coupon_id}``: a parameter route whose
    pattern matches another route's literal path is a routing bug (ids are digits only)."""
    shadowed = {
        (literal.path, param.path)
        for literal in _routes() if "{" not in literal.path
        for param in _routes() if "{" in param.path and param.path_regex.match(literal.path)
    }
    assert shadowed == SLUG_MAY_BE_A_WORD


def test_every_integer_path_parameter_is_the_one_id_type() -> None:
    loose = []
    for route in _routes():
        for param in route.dependant.path_params:
            if param.field_info.annotation is not int:
                continue
            bounds = {type(m).__name__: getattr(m, type(m).__name__.lower(), None) for m in param.field_info.metadata}
            if (not isinstance(route.param_convertors.get(param.name), IntegerConvertor)
                    or bounds != {"Ge": 1, "Le": MAX_ID}):
                loose.append((route.path, param.name, bounds))
    assert loose == []


@pytest.mark.parametrize(("path", "allow"), [
    ("/api/v1/products/1", "DELETE, GET, OPTIONS, PATCH"),
    ("/api/v1/cart/items/1", "DELETE, OPTIONS, PATCH"),
    ("/api/v1/coupons/preview", "OPTIONS, POST"),
    ("/api/v1/coupons/7", "GET, OPTIONS, PATCH"),
    ("/api/v1/users/someone/follow", "DELETE, OPTIONS, PUT"),
    ("/static/app.css", "GET, HEAD, OPTIONS"),
])
def test_options_answers_204_with_every_method_of_the_path(api: httpx.Client, path: str, allow: str) -> None:
    response = api.options(path)
    assert (response.status_code, response.headers["allow"], response.content) == (204, allow, b"")


def test_a_wrong_method_is_405_with_the_complete_allow(api: httpx.Client) -> None:
    response = api.put("/api/v1/products/1", json={})
    assert response.status_code == 405 and response.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
    assert response.json() == {"error": {"code": "method_not_allowed", "message": "Method Not Allowed",
                                         "details": None}}


def test_options_on_no_route_is_404(api: httpx.Client) -> None:
    response = api.options("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("raw", "details"), [
    (b'{"email": ', [{"position": 10, "message": "Expecting value"}]),
    (b"{bad", [{"position": 1, "message": "Expecting property name enclosed in double quotes"}]),
    (b'{"email": "\xff"}', [{"position": 11, "message": "the body is not UTF-8"}]),
])
def test_malformed_json_is_422_with_a_position_not_a_field(api: httpx.Client, raw: bytes,
                                                           details: list[dict[str, Any]]) -> None:
    response = api.post("/api/v1/auth/login", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"] == details
    assert error["message"] == f"The body is not valid JSON: {details[0]['message']}"


@pytest.mark.parametrize("bio", ["nul \u0000 inside", "\u0000"])
def test_a_nul_character_in_json_text_is_422_and_nothing_changes(
        api: httpx.Client, make_user: Callable[..., dict[str, Any]], bio: str) -> None:
    """PostgreSQL cannot store NUL in text: it is refused on every database alike, before the route."""
    user = make_user()
    before = api.get("/api/v1/me", headers=user["headers"]).json()
    response = api.patch("/api/v1/me", json={"bio": bio, "niche_tags": ["a\u0000b"]}, headers=user["headers"])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "Text may not contain the NUL character (\\u0000)."
    assert api.get("/api/v1/me", headers=user["headers"]).json() == before


def test_a_literal_backslash_u0000_is_text_not_nul(api: httpx.Client,
                                                   make_user: Callable[..., dict[str, Any]]) -> None:
    user = make_user()
    response = api.patch("/api/v1/me", json={"bio": "type \\u0000 to mean nothing"}, headers=user["headers"])
    assert response.status_code == 200, response.text
    assert response.json()["bio"] == "type \\u0000 to mean nothing"


@pytest.mark.parametrize("url", ["/api/v1/products?q=a%00b", "/search?q=%00"])
def test_a_nul_in_the_query_string_is_422(api: httpx.Client, url: str) -> None:
    response = api.get(url)
    assert response.status_code == 422


def test_nul_escapes_are_told_from_literal_backslashes() -> None:
    assert limits._has_nul(limits._JSON_NUL, b'{"a": "x\\u0000"}')
    assert not limits._has_nul(limits._JSON_NUL, b'{"a": "x\\\\u0000"}')
    assert limits._has_nul(limits._JSON_NUL, b'{"a": "x\\\\\\u0000"}')
    assert limits._has_nul(limits._URL_NUL, b"a=1&b=%00")
