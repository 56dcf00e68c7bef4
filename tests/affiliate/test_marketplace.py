"""The two marketplaces over the API: creators for sellers (niche, followers, audience by age band
and country, GMV 0 until a source is registered), products of open plans for creators."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

Factory = Callable[..., dict[str, Any]]
ADDRESS = {"name": "F", "line1": "1 Unter den Linden", "city": "Berlin", "region": "DE", "postal_code": "10117",
           "country": "DE"}


def test_creator_marketplace_filters_and_audience(api: httpx.Client, make_shop: Factory, make_user: Factory,
                                                  make_creator: Factory) -> None:
    shop = make_shop()
    owner = shop["owner"]["headers"]
    year = datetime.now(UTC).year
    beauty = make_creator(niche=["beauty", "skincare"], followers=5000)
    fitness = make_creator(niche=["fitness"], followers=2000)
    make_creator(niche=["beauty"], followers=10)  # below the minimum: never listed
    teen, adult, older = (make_user(dob=f"{year - 16}-01-01"), make_user(dob=f"{year - 30}-01-01"),
                          make_user(dob=f"{year - 60}-01-01"))
    for fan in (teen, adult, older):
        assert api.put(f"/api/v1/users/{beauty['user']['id']}/follow", headers=fan["headers"]).status_code in (200, 204)
    assert api.post("/api/v1/me/addresses", headers=adult["headers"], json=ADDRESS).status_code == 201

    url = f"/api/v1/shops/{shop['slug']}/affiliate/creators"
    everyone = api.get(url, headers=owner).json()["items"]
    assert [c["creator"]["id"] for c in everyone] == [beauty["user"]["id"], fitness["user"]["id"]]
    top = everyone[0]
    assert top["audience"] == {"age_bands": {"under 18": 1, "25-34": 1, "45+": 1}, "regions": {"DE": 1}}
    assert (top["gmv"], top["currency"], top["niche_tags"]) == (0, "USD", ["beauty", "skincare"])
    by_niche = api.get(f"{url}?niche=Fitness", headers=owner).json()["items"]
    assert [c["creator"]["id"] for c in by_niche] == [fitness["user"]["id"]]
    by_region = api.get(f"{url}?region=de", headers=owner).json()["items"]
    assert [c["creator"]["id"] for c in by_region] == [beauty["user"]["id"]]
    paged = api.get(f"{url}?limit=1", headers=owner).json()
    rest = api.get(f"{url}?limit=1&cursor={paged['next_cursor']}", headers=owner).json()
    assert [c["creator"]["id"] for c in paged["items"] + rest["items"]] == [beauty["user"]["id"], fitness["user"]["id"]]
    assert rest["next_cursor"] is None
    stranger = api.get(url, headers=make_user()["headers"])
    assert (stranger.status_code, stranger.json()["error"]["code"]) == (403, "not_shop_member")


def test_product_marketplace_filters_and_sorts(api: httpx.Client, make_shop: Factory, make_product: Factory,
                                               make_creator: Factory) -> None:
    shop, other = make_shop(), make_shop()
    cheap = make_product(shop, "Cheap Mug", variants=[{"sku": None, "price": 500, "stock": 5}])
    make_product(shop, "Dear Lamp", variants=[{"sku": None, "price": 9000, "stock": 5}])
    hidden = make_product(other, "Invite Only")
    api.post(f"/api/v1/shops/{shop['slug']}/affiliate/plans", headers=shop["owner"]["headers"], json={
        "name": "Low", "kind": "open", "product_ids": [cheap["id"]], "rate_bps": 500})
    high = api.post(f"/api/v1/shops/{shop['slug']}/affiliate/plans", headers=shop["owner"]["headers"], json={
        "name": "High", "kind": "open", "scope": "shop", "rate_bps": 3000}).json()
    api.post(f"/api/v1/shops/{other['slug']}/affiliate/plans", headers=other["owner"]["headers"], json={
        "name": "VIP", "kind": "targeted", "product_ids": [hidden["id"]], "rate_bps": 5000,
        "ends_at": "2099-01-01T00:00:00+00:00"})
    creator = make_creator()
    headers = creator["headers"]

    def rows(query: str = "") -> list[tuple[str, int]]:
        body = api.get(f"/api/v1/affiliate/marketplace{query}", headers=headers).json()
        return [(i["product"]["title"], i["plan"]["rate_bps"]) for i in body["items"]]

    assert rows() == [("Cheap Mug", 3000), ("Dear Lamp", 3000), ("Cheap Mug", 500)]  # ties: older product first
    assert rows("?sort=price") == [("Cheap Mug", 500), ("Cheap Mug", 3000), ("Dear Lamp", 3000)]  # then older plan
    assert rows("?min_rate_bps=1000&max_price=1000") == [("Cheap Mug", 3000)]
    assert rows("?q=lamp") == [("Dear Lamp", 3000)]
    unknown = api.get("/api/v1/affiliate/marketplace?category=no-such", headers=headers)
    assert unknown.status_code == 422
    joined = api.post(f"/api/v1/affiliate/plans/{high['id']}/join", headers=headers, json={})
    assert joined.status_code == 201
    statuses = {(i["product"]["title"], i["plan"]["name"]): i["plan"]["my_status"]
                for i in api.get("/api/v1/affiliate/marketplace", headers=headers).json()["items"]}
    assert statuses == {("Dear Lamp", "High"): "active", ("Cheap Mug", "High"): "active", ("Cheap Mug", "Low"): None}
