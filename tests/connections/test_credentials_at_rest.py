"""A connected store's access token and signing secret are sealed in the database (kit/secrets.py)
and still used as they were typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.connections.models import StoreConnection
from mercato.kit.secrets import PREFIX
from tests.connections.test_sync import connect


def test_credentials_are_sealed_in_the_database(api: httpx.Client, make_shop: Callable[..., dict[str, Any]],
                                                db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    made = connect(api, shop)

    async def stored(db: AsyncSession) -> tuple[str, str, str, str]:
        raw = (await db.execute(text("SELECT access_token, signing_secret FROM store_connections WHERE id = :id"),
                                {"id": made["id"]})).one()
        row = await db.get(StoreConnection, made["id"])
        assert row is not None
        return raw[0], raw[1], row.access_token, row.signing_secret

    raw_token, raw_secret, token, secret = db_run(stored)
    assert raw_token.startswith(PREFIX) and "EAAAtoken" not in raw_token
    assert raw_secret.startswith(PREFIX) and "sq-signature-key" not in raw_secret
    assert (token, secret) == ("EAAAtoken-0123456789", "sq-signature-key-7c1e")
