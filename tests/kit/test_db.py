from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from mercato.kit.db import Database


def test_sqlite_database_in_a_folder_that_does_not_exist_yet(tmp_path: Path) -> None:
    """A fresh checkout has no var/ folder: the first start must create it, not fail."""
    path = tmp_path / "var" / "nested" / "mercato.db"

    async def touch() -> int:
        db = Database(f"sqlite+aiosqlite:///{path}", pool=False)
        try:
            async with db.unit_of_work() as session:
                return int((await session.execute(text("SELECT 1"))).scalar_one())
        finally:
            await db.dispose()

    assert asyncio.run(touch()) == 1
    assert path.is_file()
