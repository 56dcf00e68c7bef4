"""The database's own health check (``/readyz``): one round trip on a fresh connection."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database does not answer a trivial statement."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
