"""Affiliate tests: eligible creators (``make_creator``: adult, the follower minimum)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from tests.content.conftest import clips, post_video, upload  # noqa: F401  (fixtures for affiliate money's tests)
from tests.orders.conftest import buyer, stocked  # noqa: F401  (fixtures for affiliate money's tests)


@pytest.fixture
def make_creator(make_user: Callable[..., dict[str, Any]], db_run: Callable[..., Any],
                 settings: Settings) -> Callable[..., dict[str, Any]]:
    """A new adult creator with ``followers`` (default: the affiliate minimum)."""

    def create(name: str | None = None, *, followers: int | None = None, dob: str = "1990-01-01",
               niche: list[str] | None = None) -> dict[str, Any]:
        creator = make_user(name, dob=dob)

        async def promote(db: AsyncSession) -> None:
            user = await db.get(User, creator["user"]["id"])
            assert user is not None
            user.is_creator = True
            user.followers_count = settings.affiliate_min_followers if followers is None else followers
            if niche is not None:
                user.niche_tags = niche

        db_run(promote)
        return creator

    return create
