"""The operators' gift catalog page: operators only; add and change gifts through its forms."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.live.gifts.models import Gift


def test_admin_gift_page(server: str, api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                         db_run: Callable[..., Any], count_rows: Callable[[Any], int]) -> None:
    operator, viewer = make_user("giftop"), make_user()

    async def promote(db: AsyncSession) -> None:
        await db.execute(update(User).where(User.id == operator["user"]["id"]).values(is_admin=True))
    db_run(promote)
    assert api.get("/admin/gifts", headers=viewer["headers"]).status_code == 403
    with httpx.Client(base_url=server) as browser:
        form = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text)
        assert form is not None
        login = browser.post("/login", data={"email": "giftop@example.com", "password": operator["password"],
                                             "csrf_token": form.group(1)})
        assert login.status_code == 303
        html = browser.get("/admin/gifts").text
        assert html.count('data-testid="gift-row"') == 6 and "Galaxy" in html
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token is not None
        added = browser.post("/admin/gifts", data={"csrf_token": token.group(1), "name": "Comet", "coins": "50",
                                                   "animation": "burst", "active": "on"})
        assert added.status_code == 303
        bad = browser.post("/admin/gifts", data={"csrf_token": token.group(1), "name": "Meteor", "coins": "0",
                                                 "animation": "burst", "active": "on"})
        assert bad.status_code == 422 and "whole number of coins" in bad.text
        comet = next(g for g in api.get("/api/v1/gifts").json() if g["name"] == "Comet")
        assert (comet["coins"], comet["animation"], comet["active"]) == (50, "burst", True)
        off = browser.post(f"/admin/gifts/{comet['id']}", data={"csrf_token": token.group(1), "name": "Comet",
                                                                "coins": "60", "animation": "rain"})
        assert off.status_code == 303
    assert "Comet" not in [g["name"] for g in api.get("/api/v1/gifts").json()]
    assert count_rows(Gift) == 7
