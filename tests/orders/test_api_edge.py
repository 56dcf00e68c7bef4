"""The buying loop's API at its edge (issue 18): ids beyond 64 bits, crafted cursors, bodies over
the cap, loosely typed numbers, and an unexpected error — each answered in the error shape, with
nothing written, and the connection still usable after a 500."""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.faults import InjectedFault
from mercato.orders.models import CartItem, Checkout, Order
from tests.orders.conftest import key

TOO_BIG = 2**63  # one more than the databases' BIGINT holds
MiB = 1024 * 1024


def rows(db_run: Any) -> dict[str, int]:
    async def count(session: AsyncSession) -> dict[str, int]:
        return {model.__tablename__: (await session.execute(select(func.count()).select_from(model))).scalar_one()
                for model in (CartItem, Checkout, Order)}

    return db_run(count)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body


# --- one id type ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/products/{id}"),
    ("GET", "/api/v1/products/{id}/reviews"),
    ("GET", "/api/v1/orders/{id}"),
    ("POST", "/api/v1/orders/{id}/cancel"),
    ("POST", "/api/v1/orders/{id}/lines/1/review"),
    ("POST", "/api/v1/orders/1/lines/{id}/review"),
    ("GET", "/api/v1/checkouts/{id}"),
    ("POST", "/api/v1/checkouts/{id}/pay"),
    ("GET", "/api/v1/seller/orders/{id}"),
    ("POST", "/api/v1/seller/orders/{id}/ship"),
    ("POST", "/api/v1/seller/orders/{id}/refunds"),
    ("POST", "/api/v1/returns/{id}/approve"),
    ("PATCH", "/api/v1/cart/items/{id}"),
    ("DELETE", "/api/v1/me/addresses/{id}"),
    ("GET", "/api/v1/imports/{id}"),
    ("DELETE", "/api/v1/shops/some-shop/members/{id}"),
    ("GET", "/api/v1/users/{id}"),
    ("PUT", "/api/v1/users/{id}/follow"),
    ("GET", "/api/v1/coupons/{id}"),
    ("GET", "/api/v1/videos/{id}"),
])
@pytest.mark.parametrize("value", [TOO_BIG, 0])
def test_a_path_id_out_of_range_is_422(api: httpx.Client, buyer: Callable[..., dict[str, Any]],
                                       method: str, path: str, value: int) -> None:
    user = buyer()
    response = api.request(method, path.format(id=value), headers=user["headers"], json={})
    body = assert_error(response, 422, "validation_error")
    field = body["error"]["details"][0]["field"]
    assert field.startswith("path.") or field == "ref", field


def test_a_path_id_that_is_not_digits_names_no_route(api: httpx.Client) -> None:
    assert_error(api.get("/api/v1/products/abc"), 404, "not_found")
    assert_error(api.get("/api/v1/products/-1"), 404, "not_found")


@pytest.mark.parametrize("page", ["/products/{id}", "/orders/{id}", "/videos/{id}", "/u/{id}"])
def test_a_page_path_id_out_of_range_is_422(api: httpx.Client, buyer: Callable[..., dict[str, Any]], page: str) -> None:
    api.cookies.set("mercato_session", buyer()["token"])
    response = api.get(page.format(id=TOO_BIG))
    assert response.status_code == 422 and "text/html" in response.headers["content-type"]


def test_body_ids_out_of_range_are_422_and_nothing_is_written(
        api: httpx.Client, buyer: Callable[..., dict[str, Any]], stocked: Callable[..., dict[str, Any]],
        db_run: Any) -> None:
    user, item = buyer(), stocked()
    before = rows(db_run)
    cases = [
        ("/api/v1/cart/items", {"variant_id": TOO_BIG, "quantity": 1}, "variant_id"),
        ("/api/v1/checkouts", {"items": [{"variant_id": TOO_BIG, "quantity": 1}]}, "items.0.variant_id"),
        ("/api/v1/checkouts", {"address_id": TOO_BIG, "items": [{"variant_id": item["variant_id"], "quantity": 1}]},
         "address_id"),
        ("/api/v1/checkout/quote", {"address_id": TOO_BIG}, "address_id"),
    ]
    for path, payload, field in cases:
        body = assert_error(api.post(path, json=payload, headers={**user["headers"], **key()}), 422,
                            "validation_error")
        assert [d["field"] for d in body["error"]["details"]] == [field]
    assert rows(db_run) == before


# --- strict numbers in bodies ---------------------------------------------------------------


@pytest.mark.parametrize("quantity", [True, "2", 2.0, None])
def test_a_quantity_must_be_a_json_integer(api: httpx.Client, buyer: Callable[..., dict[str, Any]],
                                           stocked: Callable[..., dict[str, Any]], db_run: Any,
                                           quantity: Any) -> None:
    user, item = buyer(), stocked()
    before = rows(db_run)
    response = api.post("/api/v1/cart/items", json={"variant_id": item["variant_id"], "quantity": quantity},
                        headers=user["headers"])
    body = assert_error(response, 422, "validation_error")
    assert body["error"]["details"][0]["field"] == "quantity"
    response = api.post("/api/v1/checkouts", headers={**user["headers"], **key()},
                        json={"items": [{"variant_id": item["variant_id"], "quantity": quantity}]})
    assert_error(response, 422, "validation_error")
    assert rows(db_run) == before
    # the same request with a JSON integer is fine
    ok = api.post("/api/v1/cart/items", json={"variant_id": item["variant_id"], "quantity": 2}, headers=user["headers"])
    assert ok.status_code == 201, ok.text


def test_a_variant_id_sent_as_text_is_422(api: httpx.Client, buyer: Callable[..., dict[str, Any]],
                                          stocked: Callable[..., dict[str, Any]], db_run: Any) -> None:
    user, item = buyer(), stocked()
    before = rows(db_run)
    response = api.post("/api/v1/cart/items", json={"variant_id": str(item["variant_id"]), "quantity": 1},
                        headers=user["headers"])
    assert assert_error(response, 422, "validation_error")["error"]["details"][0]["field"] == "variant_id"
    assert rows(db_run) == before


# --- one cursor codec -------------------------------------------------------------------------

CRAFTED = ["WyJ4Il0", base64.urlsafe_b64encode(b"[1e30]").decode(), base64.urlsafe_b64encode(b"[null]").decode(),
           base64.urlsafe_b64encode(b"[1, 2]").decode(), "%%%", base64.urlsafe_b64encode(b"{").decode()]


@pytest.mark.parametrize("cursor", CRAFTED)
def test_a_crafted_cursor_on_orders_is_invalid_cursor(api: httpx.Client, buyer: Callable[..., dict[str, Any]],
                                                      stocked: Callable[..., dict[str, Any]], cursor: str) -> None:
    user, item = buyer(), stocked()
    owner = item["shop"]["owner"]
    assert_error(api.get("/api/v1/orders", params={"cursor": cursor}, headers=user["headers"]), 422, "invalid_cursor")
    assert_error(api.get(f"/api/v1/shops/{item['shop']['slug']}/orders", params={"cursor": cursor},
                         headers=owner["headers"]), 422, "invalid_cursor")


def test_the_orders_cursor_the_server_wrote_still_pages(api: httpx.Client, buyer: Callable[..., dict[str, Any]],
                                                        stocked: Callable[..., dict[str, Any]]) -> None:
    user, item = buyer(), stocked()
    placed = []
    for _ in range(3):
        response = api.post("/api/v1/checkouts", headers={**user["headers"], **key()},
                            json={"items": [{"variant_id": item["variant_id"], "quantity": 1}]})
        assert response.status_code == 201, response.text
        placed += [order["id"] for order in response.json()["orders"]]
    first = api.get("/api/v1/orders", params={"limit": 2}, headers=user["headers"]).json()
    second = api.get("/api/v1/orders", params={"limit": 2, "cursor": first["next_cursor"]},
                     headers=user["headers"]).json()
    assert [o["id"] for o in first["items"] + second["items"]] == sorted(placed, reverse=True)
    assert second["next_cursor"] is None


# --- the body-size cap -------------------------------------------------------------------------


def _padded(payload: dict[str, Any], size: int) -> bytes:
    """``payload`` as JSON, with an ignored field that makes it ``size`` bytes long."""
    import orjson

    head = orjson.dumps({**payload, "padding": ""})[:-2]
    return head + b"x" * (size - len(head) - 2) + b'"}'


@pytest.mark.parametrize("path", ["/api/v1/cart/items", "/api/v1/checkouts"])
def test_a_10_mb_json_body_is_413_and_nothing_is_written(
        api: httpx.Client, buyer: Callable[..., dict[str, Any]], stocked: Callable[..., dict[str, Any]],
        db_run: Any, settings: Settings, path: str) -> None:
    user, item = buyer(), stocked()
    payload = {"variant_id": item["variant_id"], "quantity": 1,
               "items": [{"variant_id": item["variant_id"], "quantity": 1}]}
    before = rows(db_run)
    response = api.post(path, content=_padded(payload, 10 * MiB),
                        headers={**user["headers"], **key(), "Content-Type": "application/json"})
    body = assert_error(response, 413, "payload_too_large")
    assert body["error"]["details"] == {"max_bytes": settings.max_body_bytes}
    assert rows(db_run) == before
    # just under the cap the same request goes through
    ok = api.post(path, content=_padded(payload, settings.max_body_bytes),
                  headers={**user["headers"], **key(), "Content-Type": "application/json"})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("path", ["/api/v1/cart/items", "/api/v1/checkouts"])
def test_a_chunked_body_over_the_cap_is_413_and_nothing_is_written(
        api: httpx.Client, buyer: Callable[..., dict[str, Any]], stocked: Callable[..., dict[str, Any]],
        db_run: Any, settings: Settings, path: str) -> None:
    user, item = buyer(), stocked()
    data = _padded({"variant_id": item["variant_id"], "quantity": 1,
                    "items": [{"variant_id": item["variant_id"], "quantity": 1}]}, 2 * settings.max_body_bytes)
    before = rows(db_run)

    def chunks() -> Iterator[bytes]:  # no Content-Length: httpx sends Transfer-Encoding: chunked
        for start in range(0, len(data), 64 * 1024):
            yield data[start:start + 64 * 1024]

    response = api.post(path, content=chunks(), headers={**user["headers"], **key(),
                                                           "Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")
    assert rows(db_run) == before


# --- the catch-all: a 500 in the error shape, and the connection stays usable -------------------


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP/1.1 request on ``sock`` and read one response (Content-Length framed)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


def test_an_unexpected_error_is_a_500_in_the_error_shape_and_the_connection_stays_usable(
        server: str, api: httpx.Client, buyer: Callable[..., dict[str, Any]], stocked: Callable[..., dict[str, Any]],
        db_run: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import orjson

    user, item = buyer(), stocked()
    before = rows(db_run)
    monkeypatch.setattr(settings, "fault_point", "raise:checkout.after_reserve")  # kit/faults.py
    payload = orjson.dumps({"items": [{"variant_id": item["variant_id"], "quantity": 1}]})
    where = urlsplit(server)
    checkout = (f"POST /api/v1/checkouts HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: Bearer {user['token']}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload
    health = f"GET /healthz HTTP/1.1\r\nHost: {where.netloc}\r\n\r\n".encode()
    with caplog.at_level(logging.ERROR, logger="mercato"), \
            socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        status, headers, body = _exchange(sock, checkout)
        assert status == 500
        assert orjson.loads(body) == {"error": {"code": "internal_error", "details": None,
                                                "message": "Something went wrong on our side."}}
        assert b"InjectedFault" not in body and b"Traceback" not in body
        assert headers.get("connection", "keep-alive").lower() != "close"
        # the same connection answers the next request
        status, _, body = _exchange(sock, health)
        assert (status, orjson.loads(body)) == (200, {"status": "ok"})
    logged = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], InjectedFault)]
    assert len(logged) == 1 and "POST /api/v1/checkouts" in logged[0].getMessage()
    assert rows(db_run) == before  # the unit of work rolled back



def test_the_buy_now_page_refuses_a_variant_id_out_of_range(api: httpx.Client,
                                                            buyer: Callable[..., dict[str, Any]]) -> None:
    api.cookies.set("mercato_session", buyer()["token"])
    response = api.get("/checkout", params={"item": TOO_BIG})
    assert response.status_code == 422 and "text/html" in response.headers["content-type"]
