"""Free samples through the order life (stock allocated, nothing paid, nothing in the ledger),
the reminder job; the showcase; anchoring and LIVE pinning refused without a plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import Notification
from mercato.affiliate import samples
from mercato.affiliate.models import AffiliateSampleRequest, ShowcaseItem
from mercato.catalog.models import Variant
from mercato.ledger.models import LedgerTransaction
from mercato.live.models import Live
from mercato.orders.models import Order

Factory = Callable[..., dict[str, Any]]
ADDRESS = {"name": "Maya", "line1": "1 Market St", "city": "San Francisco", "region": "US-CA",
           "postal_code": "94105", "country": "US"}


def _counters(db_run: Callable[..., Any], variant_id: int) -> tuple[int, int, int]:
    async def go(db: AsyncSession) -> tuple[int, int, int]:
        v = await db.get(Variant, variant_id)
        assert v is not None
        return v.stock, v.reserved, v.allocated

    result: tuple[int, int, int] = db_run(go)
    return result


def test_sample_request_approval_order_life_and_reminder(
        api: httpx.Client, make_shop: Factory, make_product: Factory, make_creator: Factory, in_plan: Factory,
        db_run: Callable[..., Any], count_rows: Callable[[Any], int]) -> None:
    shop = make_shop()
    owner = shop["owner"]["headers"]
    product = make_product(shop, "Lamp", variants=[{"sku": "L1", "price": 4999, "stock": 3}])
    variant_id = product["variants"][0]["id"]
    creator, outsider = make_creator(), make_creator()
    plan = in_plan(shop, [product], creator)
    address = api.post("/api/v1/me/addresses", headers=creator["headers"], json=ADDRESS).json()
    other_address = api.post("/api/v1/me/addresses", headers=outsider["headers"], json=ADDRESS).json()
    body = {"plan_id": plan["id"], "variant_id": variant_id, "address_id": address["id"], "note": "For a haul video"}

    refused = api.post("/api/v1/affiliate/samples", headers=outsider["headers"],
                       json={**body, "address_id": other_address["id"]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "product_not_promotable")
    not_theirs = api.post("/api/v1/affiliate/samples", headers=creator["headers"],
                          json={**body, "address_id": other_address["id"]})
    assert (not_theirs.status_code, not_theirs.json()["error"]["code"]) == (404, "address_not_found")
    assert count_rows(AffiliateSampleRequest) == 0

    made = api.post("/api/v1/affiliate/samples", headers=creator["headers"], json=body)
    assert made.status_code == 201, made.text
    sample = made.json()
    assert (sample["status"], sample["order_id"], sample["product"]["id"]) == ("requested", None, product["id"])
    twice = api.post("/api/v1/affiliate/samples", headers=creator["headers"], json=body)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "sample_already_requested")
    listed = api.get(f"/api/v1/shops/{shop['slug']}/affiliate/samples?status=requested", headers=owner).json()
    assert [s["id"] for s in listed["items"]] == [sample["id"]]
    assert _counters(db_run, variant_id) == (3, 0, 0)

    decision = f"/api/v1/shops/{shop['slug']}/affiliate/samples/{sample['id']}/decision"
    approved = api.post(decision, headers=owner, json={"approve": True})
    assert approved.status_code == 200, approved.text
    answer = approved.json()
    assert answer["status"] == "approved" and answer["order_id"] and answer["post_by"]
    again = api.post(decision, headers=owner, json={"approve": False})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "sample_not_requested")
    # one unit allocated like any paid order's; nothing paid, nothing in the ledger, not a sale
    assert _counters(db_run, variant_id) == (3, 0, 1)

    async def order_facts(db: AsyncSession) -> tuple[Any, ...]:
        order = await db.get(Order, answer["order_id"])
        assert order is not None
        txns = (await db.execute(select(func.count()).select_from(LedgerTransaction)
                                 .where(LedgerTransaction.order_id == order.id))).scalar_one()
        return (order.status, order.total, order.fee, order.source, order.payment_intent_id, order.buyer_id,
                order.shop_id, order.address["city"], txns)

    assert db_run(order_facts) == ("paid", 0, 0, "sample", None, creator["user"]["id"], shop["id"],
                                   "San Francisco", 0)
    assert api.get(f"/api/v1/products/{product['id']}").json()["sold_count"] == 0
    # the seller ships it through the normal order life
    shipped = api.post(f"/api/v1/seller/orders/{answer['order_id']}/ship", headers=owner,
                       json={"carrier": "UPS", "tracking_number": "1Z999"})
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    assert _counters(db_run, variant_id) == (2, 0, 0)
    mine = api.get(f"/api/v1/orders/{answer['order_id']}", headers=creator["headers"]).json()
    assert (mine["total"], mine["status"]) == (0, "shipped")

    async def remind(db: AsyncSession) -> int:
        return await samples.remind_due(db, now=datetime.now(UTC) + timedelta(days=15))

    assert db_run(remind) == 1
    assert db_run(remind) == 0  # once

    async def reminders(db: AsyncSession) -> int:
        stmt = select(func.count()).select_from(Notification).where(
            Notification.kind == "affiliate_sample_reminder", Notification.user_id == creator["user"]["id"])
        return int((await db.execute(stmt)).scalar_one())

    assert db_run(reminders) == 1


def test_sample_decline_and_out_of_stock_leave_the_request(
        api: httpx.Client, make_shop: Factory, make_product: Factory, make_creator: Factory, in_plan: Factory,
        db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    owner = shop["owner"]["headers"]
    product = make_product(shop, "Rare", variants=[{"sku": "R1", "price": 999, "stock": 0}])
    creator = make_creator()
    plan = in_plan(shop, [product], creator)
    address = api.post("/api/v1/me/addresses", headers=creator["headers"], json=ADDRESS).json()
    sample = api.post("/api/v1/affiliate/samples", headers=creator["headers"], json={
        "plan_id": plan["id"], "variant_id": product["variants"][0]["id"], "address_id": address["id"]}).json()
    decision = f"/api/v1/shops/{shop['slug']}/affiliate/samples/{sample['id']}/decision"
    short = api.post(decision, headers=owner, json={"approve": True})
    assert (short.status_code, short.json()["error"]["code"]) == (409, "out_of_stock")
    assert api.get("/api/v1/affiliate/samples", headers=creator["headers"]).json()["items"][0]["status"] == "requested"
    declined = api.post(decision, headers=owner, json={"approve": False}).json()
    assert (declined["status"], declined["order_id"]) == ("declined", None)


def test_showcase_add_list_hide_when_no_longer_promotable(
        api: httpx.Client, make_shop: Factory, make_product: Factory, make_creator: Factory, in_plan: Factory,
        count_rows: Callable[[Any], int]) -> None:
    shop = make_shop()
    lamp, mug = make_product(shop, "Lamp"), make_product(shop, "Mug")
    creator = make_creator()
    assert api.patch("/api/v1/me", headers=creator["headers"], json={"handle": "maya.shows"}).status_code == 200
    own_shop = make_shop(owner=creator)
    own = make_product(own_shop, "My own")

    refused = api.post("/api/v1/affiliate/showcase", headers=creator["headers"], json={"product_id": lamp["id"]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "product_not_promotable")
    assert count_rows(ShowcaseItem) == 0
    plan = in_plan(shop, [lamp, mug], creator)
    for product in (mug, lamp, own, mug):
        added = api.post("/api/v1/affiliate/showcase", headers=creator["headers"], json={"product_id": product["id"]})
        assert added.status_code == 201 and added.json()["id"] == product["id"]
    public = api.get("/api/v1/creators/maya.shows/showcase").json()
    assert [p["id"] for p in public["items"]] == [mug["id"], lamp["id"], own["id"]]
    assert public["creator"]["handle"] == "maya.shows"
    first = api.get("/api/v1/creators/maya.shows/showcase?limit=2").json()
    rest = api.get(f"/api/v1/creators/maya.shows/showcase?limit=2&cursor={first['next_cursor']}").json()
    assert [p["id"] for p in first["items"] + rest["items"]] == [mug["id"], lamp["id"], own["id"]]
    page = api.get("/@maya.shows/showcase")
    assert page.status_code == 200 and "Lamp" in page.text and "My own" in page.text

    # leaving the plan hides its products (the rows stay: rejoining shows them again)
    api.delete(f"/api/v1/affiliate/plans/{plan['id']}/membership", headers=creator["headers"])
    assert [p["id"] for p in api.get("/api/v1/creators/maya.shows/showcase").json()["items"]] == [own["id"]]
    removed = api.delete(f"/api/v1/affiliate/showcase/{own['id']}", headers=creator["headers"])
    assert removed.status_code == 204
    gone = api.delete(f"/api/v1/affiliate/showcase/{own['id']}", headers=creator["headers"])
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "not_on_showcase")
    assert count_rows(ShowcaseItem) == 2


def test_anchor_and_pin_need_a_plan(api: httpx.Client, make_shop: Factory, make_product: Factory,
                                    make_creator: Factory, in_plan: Factory, db_run: Callable[..., Any]) -> None:
    shop = make_shop()
    product = make_product(shop, "Tote")
    make_product(shop, "Not in the plan")
    host = make_creator()

    anchorable = api.get("/api/v1/me/anchorable-products", headers=host["headers"]).json()["items"]
    assert anchorable == []
    refused = api.post("/api/v1/videos", headers=host["headers"], data={"product_ids": str(product["id"])},
                       files={"file": ("clip.mp4", b"not a video", "video/mp4")})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "anchor_not_allowed")

    async def make_live(db: AsyncSession) -> int:
        live = Live(host_id=host["user"]["id"], title="Haul", status="live")
        db.add(live)
        await db.flush()
        return int(live.id)

    live_id = db_run(make_live)

    async def pinned(db: AsyncSession) -> int | None:
        live = await db.get(Live, live_id)
        assert live is not None
        return live.pinned_product_id

    pin = api.put(f"/api/v1/lives/{live_id}/pin", headers=host["headers"], json={"product_id": product["id"]})
    assert (pin.status_code, pin.json()["error"]["code"]) == (403, "pin_not_allowed")
    assert db_run(pinned) is None
    bag = api.get(f"/api/v1/lives/{live_id}/bag").json()["items"]
    assert bag == []

    in_plan(shop, [product], host)
    assert [p["id"] for p in api.get("/api/v1/me/anchorable-products", headers=host["headers"]).json()["items"]] == [
        product["id"]]
    assert [p["id"] for p in api.get(f"/api/v1/lives/{live_id}/bag").json()["items"]] == [product["id"]]
    pin = api.put(f"/api/v1/lives/{live_id}/pin", headers=host["headers"], json={"product_id": product["id"]})
    assert pin.status_code == 200 and pin.json()["product"]["id"] == product["id"]
    assert db_run(pinned) == product["id"]
