"""The ``mercato`` command line, run for real in a subprocess against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as accounts_repo
from tests.conftest import REPO, SHARED_DATA

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]
WOO = SHARED_DATA / "catalog" / "woocommerce" / "sample_products.csv"
OPENCART = SHARED_DATA / "catalog" / "opencart" / "opencart-4.1.0.4-en-gb.sql"
SQUARE = SHARED_DATA / "catalog" / "square" / "item_library_export.csv"


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MERCATO_MEDIA_DIR": os.environ["MERCATO_MEDIA_DIR"],
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "PYTHONIOENCODING": "utf-8",
    }
    env.pop("MERCATO_ADMIN_PASSWORD", None)
    return subprocess.run([sys.executable, "-m", "mercato.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120, stdin=subprocess.DEVNULL)


def _words(text: str) -> str:
    """Output with whitespace (including wrapping) collapsed."""
    return " ".join(text.split())


def _relative(path: Path) -> str:
    return os.path.relpath(path, REPO)


def _is_admin(db_run: DbRun, email: str) -> bool | None:
    async def go(session: AsyncSession) -> bool | None:
        user = await accounts_repo.user_by_email(session, email)
        return None if user is None else user.is_admin

    result: bool | None = db_run(go)
    return result


def test_import_catalog_twice(api: httpx.Client, make_shop: Maker, clean_db: str) -> None:
    shop = make_shop("cli-shop")
    path = _relative(WOO)
    assert path.startswith("../shared/")

    first = _cli(clean_db, "import-catalog", path, "--shop", "cli-shop")
    assert first.returncode == 0, first.stderr
    out = _words(first.stdout)
    assert "sample_products.csv (woocommerce) → shop cli-shop: 16 created, 0 updated, 0 unchanged, 2 rejected" in out
    assert "row 23 rejected logo-collection grouped products are not supported" in out
    assert "row 24 rejected wp-pennant external/affiliate products are not supported" in out

    listed = api.get("/api/v1/shops/cli-shop/products", headers=shop["owner"]["headers"], params={"limit": 100})
    assert len(listed.json()["items"]) == 16
    assert api.get("/api/v1/shops/cli-shop").json()["product_count"] == 16
    runs = api.get("/api/v1/shops/cli-shop/imports", headers=shop["owner"]["headers"]).json()
    assert [(r["created"], r["rejected"], r["filename"]) for r in runs] == [(16, 2, "sample_products.csv")]

    second = _cli(clean_db, "import-catalog", path, "--shop", "cli-shop", "--show-rows")
    assert second.returncode == 0, second.stderr
    out = _words(second.stdout)
    assert "0 created, 0 updated, 16 unchanged, 2 rejected" in out
    assert "row 1 unchanged woo-vneck-tee Awesome V-Neck T-Shirt" in out
    assert len(api.get("/api/v1/shops/cli-shop/products", headers=shop["owner"]["headers"],
                       params={"limit": 100}).json()["items"]) == 16


def test_import_catalog_new_formats(api: httpx.Client, make_shop: Maker, clean_db: str) -> None:
    shop = make_shop("cli-shop")
    first = _cli(clean_db, "import-catalog", _relative(OPENCART), "--shop", "cli-shop")  # detected from the dump
    assert first.returncode == 0, first.stderr
    out = _words(first.stdout)
    assert "opencart-4.1.0.4-en-gb.sql (opencart) → shop cli-shop: 19 created, 0 updated, 0 unchanged, 0 rejected" \
        in out
    assert "row 17 warning opencart:47 OpenCart does not subtract stock for this product" in out

    square = _cli(clean_db, "import-catalog", _relative(SQUARE), "--shop", "cli-shop", "--format", "square")
    assert square.returncode == 0, square.stderr
    assert "item_library_export.csv (square) → shop cli-shop: 5 created, 0 updated, 0 unchanged, 0 rejected" in (
        _words(square.stdout))
    again = _cli(clean_db, "import-catalog", _relative(OPENCART), "--shop", "cli-shop")
    assert again.returncode == 0, again.stderr
    assert "0 created, 0 updated, 19 unchanged, 0 rejected" in _words(again.stdout)
    listed = api.get("/api/v1/shops/cli-shop/products", headers=shop["owner"]["headers"], params={"limit": 100})
    assert len(listed.json()["items"]) == 24

    wrong = _cli(clean_db, "import-catalog", _relative(SQUARE), "--shop", "cli-shop", "--format", "magento")
    assert wrong.returncode == 2
    assert "Magento product CSV: required column(s) missing: product_type, name" in _words(wrong.stderr)


def test_import_catalog_errors(make_shop: Maker, clean_db: str, tmp_path: Path) -> None:
    make_shop("cli-shop")
    unknown = _cli(clean_db, "import-catalog", _relative(WOO), "--shop", "no-such-shop")
    assert unknown.returncode == 2
    assert "No shop with slug 'no-such-shop'" in _words(unknown.stderr)

    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\xff" * 100)
    unreadable = _cli(clean_db, "import-catalog", str(junk), "--shop", "cli-shop")
    assert unreadable.returncode == 2
    assert unreadable.stdout == ""

    missing = _cli(clean_db, "import-catalog", str(tmp_path / "missing.csv"), "--shop", "cli-shop")
    assert missing.returncode == 2  # click's usage error
    assert "does not exist" in _words(missing.stderr)


@pytest.mark.parametrize("existing", [False, True])
def test_create_admin(api: httpx.Client, make_user: Maker, db_run: DbRun, clean_db: str, existing: bool) -> None:
    if existing:
        user = make_user("boss")
        assert user["user"]["is_admin"] is False
    assert _is_admin(db_run, "boss@example.com") is (False if existing else None)

    result = _cli(clean_db, "create-admin", "--email", "boss@example.com", "--password", "operator-secret-1")
    assert result.returncode == 0, result.stderr
    assert "boss@example.com is an operator." in _words(result.stderr)
    assert _is_admin(db_run, "boss@example.com") is True

    # the operator logs in with the password it already had (an existing account keeps its own)
    password = user["password"] if existing else "operator-secret-1"
    login = api.post("/api/v1/auth/login", json={"email": "boss@example.com", "password": password})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["is_admin"] is True


def test_create_admin_needs_a_password_for_a_new_account(db_run: DbRun, clean_db: str) -> None:
    result = _cli(clean_db, "create-admin", "--email", "nobody@example.com")
    assert result.returncode == 2
    assert "needs a password" in _words(result.stderr)
    assert _is_admin(db_run, "nobody@example.com") is None

    weak = _cli(clean_db, "create-admin", "--email", "weak@example.com", "--password", "short")
    assert weak.returncode == 2
    assert _is_admin(db_run, "weak@example.com") is None
