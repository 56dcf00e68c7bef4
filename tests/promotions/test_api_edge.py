"""Literal coupon paths are never taken for a coupon id (issue 18)."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("method", ["PATCH", "GET", "DELETE", "PUT"])
def test_a_wrong_method_on_coupons_preview_is_405_with_its_own_allow(api: httpx.Client, method: str) -> None:
    response = api.request(method, "/api/v1/coupons/preview", json={"active": False})
    assert response.status_code == 405 and response.headers["allow"] == "OPTIONS, POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_options_on_coupons_preview_lists_post(api: httpx.Client) -> None:
    response = api.options("/api/v1/coupons/preview")
    assert (response.status_code, response.headers["allow"]) == (204, "OPTIONS, POST")
