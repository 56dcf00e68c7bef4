"""Accounts at the API's edge (issue 18): dates only as ISO text, booleans only as JSON booleans,
numeric ``/users/{ref}`` within the id range."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User


def _users(db_run: Any) -> int:
    async def count(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(User))).scalar_one())

    result: int = db_run(count)
    return result


@pytest.mark.parametrize("dob", [0, 946684800, 1.5, True, "946684800"])
def test_a_date_of_birth_is_an_iso_string_only(api: httpx.Client, db_run: Any, dob: Any) -> None:
    before = _users(db_run)
    response = api.post("/api/v1/auth/register", json={"email": "epoch@example.com", "password": "correct-horse-1",
                                                       "display_name": "Epoch", "date_of_birth": dob})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"][0]["field"] == "date_of_birth"
    assert _users(db_run) == before


def test_an_iso_date_of_birth_registers(api: httpx.Client, db_run: Any) -> None:
    response = api.post("/api/v1/auth/register", json={"email": "iso@example.com", "password": "correct-horse-1",
                                                       "display_name": "Iso", "date_of_birth": "1990-02-03"})
    assert response.status_code == 201, response.text
    assert response.json()["user"]["date_of_birth"] == "1990-02-03"


@pytest.mark.parametrize("value", [1, "true", "yes"])
def test_become_creator_is_a_json_boolean(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                          value: Any) -> None:
    user = make_user()
    response = api.patch("/api/v1/me", headers=user["headers"], json={"become_creator": value})
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "become_creator"
    assert api.get("/api/v1/me", headers=user["headers"]).json()["is_creator"] is False


@pytest.mark.parametrize("ref", [str(2**63), "0", "99999999999999999999999999"])
def test_a_numeric_user_ref_out_of_range_is_422(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                                ref: str) -> None:
    user = make_user()
    for method, path in [("GET", f"/api/v1/users/{ref}"), ("PUT", f"/api/v1/users/{ref}/follow"),
                         ("GET", f"/api/v1/users/{ref}/followers"), ("GET", f"/api/v1/users/{ref}/videos")]:
        response = api.request(method, path, headers=user["headers"])
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "validation_error"


def test_a_follow_list_cursor_of_the_wrong_shape_is_invalid_cursor(
        api: httpx.Client, make_user: Callable[..., dict[str, Any]]) -> None:
    user = make_user()
    response = api.get(f"/api/v1/users/{user['user']['id']}/followers", params={"cursor": "WyJ4Il0"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_cursor"
