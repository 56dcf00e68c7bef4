"""Seller Center → Settings → Connections over real HTTP (no browser): connect with the form, the
token never shown back, pull now, the history of pulls and webhooks, disconnect; who may do what."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.connections.conftest import FakeStore
from tests.connections.test_sync import SquareCatalog
from tests.connections.test_webhooks import deliveries

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[[Callable[[AsyncSession], Any]], Any]
TOKEN = "EAAAl-secret-access-token-8842"
KEY = "sq-signature-key-7c1e"


def connect_form(**fields: str) -> dict[str, str]:
    return {"action": "connect", "platform": "square", "store_ref": "L1", "access_token": TOKEN,
            "signing_secret": KEY, **fields}


def test_connect_pull_and_history_on_the_page(api: httpx.Client, make_shop: Maker, fake_store: FakeStore) -> None:
    shop = make_shop()
    SquareCatalog(fake_store)
    url, headers = f"/seller/{shop['slug']}/connections", shop["owner"]["headers"]
    empty = api.get(url, headers=headers)
    assert empty.status_code == 200
    assert "Connect a store" in empty.text and 'id="connection-' not in empty.text
    settings_page = api.get(f"/seller/{shop['slug']}/settings", headers=headers).text
    assert f'href="/seller/{shop["slug"]}/connections"' in settings_page

    response = api.post(url, headers=headers, data=connect_form())
    assert response.status_code == 303 and response.headers["location"] == f"{url}?saved=connect"
    [conn] = api.get(f"/api/v1/shops/{shop['slug']}/connections", headers=headers).json()
    page = api.get(response.headers["location"], headers=headers).text
    assert "Connected." in page and "Square · L1" in page and "…8842" in page
    assert TOKEN not in page and KEY not in page  # credentials are never shown back
    assert f"/api/v1/webhooks/stores/square/{conn['id']}" in page
    assert "No pull yet." in page and "No webhook received yet." in page

    pulled = api.post(url, headers=headers, data={"action": "sync", "connection_id": str(conn["id"])})
    assert pulled.status_code == 303
    page = api.get(pulled.headers["location"], headers=headers).text
    assert "Pulled." in page
    [row] = re.findall(r'<tr class="sync-row">(.*?)</tr>', page, re.S)
    assert "pull" in row and "done" in row and "2 created · 0 updated · 0 unchanged" in row


def test_form_errors_keep_values_and_change_nothing(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop()
    url, headers = f"/seller/{shop['slug']}/connections", shop["owner"]["headers"]
    bad = api.post(url, headers=headers, data=connect_form(platform="magento", store_ref='"><b>x</b>'))
    assert bad.status_code == 422 and 'class="alert alert-error"' in bad.text
    assert "&#34;&gt;&lt;b&gt;x&lt;/b&gt;" in bad.text or "&quot;&gt;&lt;b&gt;x&lt;/b&gt;" in bad.text
    assert api.get(f"/api/v1/shops/{shop['slug']}/connections", headers=headers).json() == []
    assert api.post(url, headers=headers, data=connect_form()).status_code == 303
    twice = api.post(url, headers=headers, data=connect_form(store_ref="L2"))
    assert twice.status_code == 409 and "already connected" in twice.text
    [conn] = api.get(f"/api/v1/shops/{shop['slug']}/connections", headers=headers).json()
    assert conn["store_ref"] == "L1"


def test_staff_pull_but_only_the_owner_connects_or_disconnects(
        api: httpx.Client, make_shop: Maker, make_user: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    staff = make_user()
    assert api.post(f"/api/v1/shops/{shop['slug']}/members", headers=shop["owner"]["headers"],
                    json={"email": staff["user"]["email"]}).status_code in (200, 201)
    url = f"/seller/{shop['slug']}/connections"
    refused = api.post(url, headers=staff["headers"], data=connect_form())
    assert refused.status_code == 403
    assert api.get(f"/api/v1/shops/{shop['slug']}/connections", headers=staff["headers"]).json() == []
    assert api.post(url, headers=shop["owner"]["headers"], data=connect_form()).status_code == 303
    [conn] = api.get(f"/api/v1/shops/{shop['slug']}/connections", headers=staff["headers"]).json()
    staff_page = api.get(url, headers=staff["headers"]).text
    assert "Pull now" in staff_page and "Disconnect" not in staff_page and "Connect a store" not in staff_page
    assert api.post(url, headers=staff["headers"], data={"action": "disconnect",
                                                         "connection_id": str(conn["id"])}).status_code == 403
    stranger = make_user()
    assert api.get(url, headers=stranger["headers"]).status_code == 403
    assert api.delete(f"/api/v1/shops/{shop['slug']}/connections/{conn['id']}",
                      headers=shop["owner"]["headers"]).status_code == 204
    [gone] = api.get(f"/api/v1/shops/{shop['slug']}/connections", headers=shop["owner"]["headers"]).json()
    assert gone["status"] == "disconnected" and gone["token_hint"] == "…"
    assert deliveries(db_run) == []


def test_api_never_returns_credentials(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop()
    created = api.post(f"/api/v1/shops/{shop['slug']}/connections", headers=shop["owner"]["headers"], json={
        "platform": "ecwid", "store_ref": "1003", "access_token": TOKEN, "signing_secret": KEY})
    assert created.status_code == 201
    body = created.json()
    assert TOKEN not in created.text and KEY not in created.text
    assert (body["platform"], body["store_ref"], body["status"], body["token_hint"], body["is_demo"]) == (
        "ecwid", "1003", "active", "…8842", False)
    unknown = api.post(f"/api/v1/shops/{shop['slug']}/connections", headers=shop["owner"]["headers"], json={
        "platform": "magento", "store_ref": "1", "access_token": "t", "signing_secret": "s"})
    assert unknown.status_code == 422
    for bad in ({"access_token": "tök en"}, {"store_ref": "../../admin"}, {"store_ref": "shop.example/x?y"}):
        refused = api.post(f"/api/v1/shops/{shop['slug']}/connections", headers=shop["owner"]["headers"], json={
            "platform": "square", "store_ref": "L1", "access_token": "t", "signing_secret": "s", **bad})
        assert refused.status_code == 422, bad
    listed = api.get(f"/api/v1/shops/{shop['slug']}/connections", headers=shop["owner"]["headers"]).json()
    assert [c["platform"] for c in listed] == ["ecwid"]
