"""What every platform client shares: the records it produces, a rate-limit-aware HTTP call, and
the transport seam.

Calls honour ``429 Too Many Requests`` (``Retry-After`` in seconds, or the platform's documented
default) and Shopify's ``X-Shopify-Shop-Api-Call-Limit`` bucket header (a client close to the limit
waits for the bucket to drain a little before its next call). A store that keeps refusing, or does
not answer, raises :class:`StoreUnavailable`; the caller keeps its cursor and resumes later.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import httpx
import orjson

from mercato.catalog.importers.records import ImportedProduct, RowError, RowIssue, parse_price

Sleep = Callable[[float], Awaitable[None]]

MAX_RETRIES = 4
MAX_WAIT_SECONDS = 60.0
TIMEOUT_SECONDS = 20.0


class StoreUnavailable(Exception):
    """The store did not answer usefully (network error, 5xx, too many 429s, unreadable body)."""


@dataclass
class StoreProduct:
    """One product as the store has it now. ``version`` orders states of the same product
    (the platform's version, else ``updated_at`` in epoch milliseconds); ``stock`` maps a variant's
    external id to units on hand, absent when the store does not count that variant;
    ``inventory_refs`` maps it to the store's inventory item id when that differs."""

    record: ImportedProduct
    version: int
    stock: dict[str, int] = field(default_factory=dict)
    inventory_refs: dict[str, str] = field(default_factory=dict)
    deleted: bool = False


@dataclass
class CatalogPage:
    products: list[StoreProduct]
    rejected: list[RowIssue]
    next_cursor: str | None


@dataclass
class PushLine:
    external_variant_id: str
    external_product_id: str
    quantity: int
    unit_price: int
    title: str


@dataclass
class PushOrder:
    order_id: int
    number: str
    currency: str
    lines: list[PushLine]
    address: dict[str, Any]


class Platform(Protocol):
    name: str

    async def catalog_page(self, cursor: str | None) -> CatalogPage: ...

    async def product(self, external_id: str) -> StoreProduct | None: ...

    async def push_order(self, order: PushOrder, idempotency_key: str) -> str: ...


# ------------------------------------------------------------------------------ transport

_transport: list[httpx.AsyncBaseTransport] = []


def set_transport(transport: httpx.AsyncBaseTransport | None) -> None:
    """Route every platform call of this process through ``transport`` (``None``: the network).
    The platforms' servers are outside this machine: tests answer for them with
    ``httpx.MockTransport`` serving recorded bodies."""
    _transport.clear()
    if transport is not None:
        _transport.append(transport)


def make_client(base_url: str, headers: Mapping[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=dict(headers), timeout=TIMEOUT_SECONDS,
                             transport=_transport[0] if _transport else None)


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "").strip()
    try:
        return min(MAX_WAIT_SECONDS, max(0.0, float(value))) if value else default
    except ValueError:
        return default


async def call(client: httpx.AsyncClient, method: str, url: str, *, sleep: Sleep = asyncio.sleep,
               default_wait: float = 1.0, **kwargs: Any) -> httpx.Response:
    """One API call with 429 back-off: waits ``Retry-After`` (or ``default_wait``, doubling) and
    retries, at most :data:`MAX_RETRIES` times."""
    wait = default_wait
    for _ in range(MAX_RETRIES + 1):
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"the store did not answer ({type(exc).__name__})") from exc
        if response.status_code == 429:
            await sleep(_retry_after(response, wait))
            wait = min(MAX_WAIT_SECONDS, wait * 2)
            continue
        limit = response.headers.get("x-shopify-shop-api-call-limit", "")
        used, _, size = limit.partition("/")
        if used.isdigit() and size.isdigit() and int(size) and int(used) >= int(size) * 0.8:
            await sleep(0.5)  # the bucket leaks 2 calls a second; let it drain one
        if response.status_code >= 400:
            raise StoreUnavailable(f"the store answered {response.status_code} to {method} {url.split('?')[0]}")
        return response
    raise StoreUnavailable("the store kept answering 429 Too Many Requests")


def json_body(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise StoreUnavailable("the store's answer is not JSON") from exc


# ------------------------------------------------------------------------------ values


def epoch_ms(text: object) -> int:
    """An ISO 8601 time (``Z``, offsets, nanoseconds) or Ecwid's ``2014-09-13 01:45:38 -0700``
    -> epoch milliseconds; 0 when absent or unreadable."""
    if not isinstance(text, str) or not text.strip():
        return 0
    value = text.strip().replace(" ", "T", 1) if re.match(r"^\d{4}-\d\d-\d\d \d", text) else text.strip()
    value = re.sub(r"\s*([+-]\d\d):?(\d\d)$", r"\1:\2", value)
    value = value.replace("Z", "+00:00")
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def major_price(value: object, currency: str, label: str = "price") -> int:
    """A price in major units, as a JSON number or a decimal string -> minor units."""
    if isinstance(value, bool) or value is None:
        raise RowError(f"missing {label}")
    try:
        text = str(Decimal(str(value)))
    except InvalidOperation:
        raise RowError(f"{label} '{value}' is not a number") from None
    return parse_price(text, currency, label)


def quantity(value: object) -> int:
    """A count as a number or a decimal string (``"79"``, ``"2.0"``); negatives are 0 on hand."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return 0
    return max(0, int(number))


def text_of(value: object) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))
