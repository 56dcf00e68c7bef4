"""A catalog import records price changes in the price history too (the 30-day-low rule of LIVE
flash deals depends on it): first prices on creation, one entry per changed price on re-import,
none for an unchanged file."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Variant, VariantPrice
from tests.conftest import SHARED_DATA

WOO = SHARED_DATA / "catalog" / "woocommerce" / "sample_products.csv"


def _import(api: httpx.Client, shop: dict[str, Any], data: bytes) -> None:
    response = api.post(f"/api/v1/shops/{shop['slug']}/imports", headers=shop["owner"]["headers"],
                        files={"file": ("sample_products.csv", data, "text/csv")})
    assert response.status_code == 201, response.text


def test_imports_record_prices(api: httpx.Client, make_shop: Callable[..., dict[str, Any]], db_run: Any) -> None:
    shop = make_shop("woo-history")
    original = WOO.read_bytes()
    _import(api, shop, original)

    async def histories(session: AsyncSession) -> dict[str, list[int]]:
        rows = await session.execute(select(Variant.sku, VariantPrice.price)
                                     .join(VariantPrice, VariantPrice.variant_id == Variant.id)
                                     .order_by(VariantPrice.id))
        found: dict[str, list[int]] = {}
        for sku, price in rows:
            found.setdefault(str(sku), []).append(int(price))
        return found

    first = db_run(histories)
    assert first["woo-sunglasses"] == [9000]
    assert all(len(prices) == 1 for prices in first.values())
    _import(api, shop, original)  # unchanged: nothing recorded
    assert db_run(histories) == first

    rows = list(csv.reader(io.StringIO(original.decode("utf-8-sig"))))
    sku, price = rows[0].index("SKU"), rows[0].index("Regular price")
    (target,) = [row for row in rows if row[sku] == "woo-sunglasses"]
    target[price] = "95.50"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    _import(api, shop, out.getvalue().encode())
    after = db_run(histories)
    assert after["woo-sunglasses"] == [9000, 9550]
    assert {k: v for k, v in after.items() if k != "woo-sunglasses"} == {
        k: v for k, v in first.items() if k != "woo-sunglasses"}
