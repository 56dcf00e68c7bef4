"""Demo viewers of the demo LIVE: a few demo shoppers who join the room through the real WebSocket
(the ``websockets`` client, at the app's own address, with their bearer tokens), chat and like at a
human pace, now and then send a small gift (topping up coins with the sandbox card) and buy the
pinned product through the real buy-now checkout with the sandbox card. Their LIVE is labelled
demo, and so are they (``demo viewer`` in the log).

``mercato serve --demo`` starts this as a child process (``python -m mercato.demo_live_viewers
--base http://host:port``); it waits for the app, then for the demo LIVE to be on air (the demo
publisher feeds it), and follows it across restarts of either.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import uuid
from typing import Any

import httpx
import orjson
import websockets

from mercato.config import get_settings

log = logging.getLogger("mercato.demo_live_viewers")
DOMAIN = "demo.example.com"
VIEWERS = tuple(f"shopper{n}" for n in (2, 3, 4, 5, 6, 7))
CHAT = ("Hi from the demo! 👋", "Love this colour", "Does it come in M?", "How long does shipping take?",
        "Just ordered one 🛍️", "The flash deal is so good", "Can you show the back?", "Is it true to size?",
        "🔥🔥🔥", "Greetings from Berlin", "What's the fabric?", "Adding to cart now")
ADDRESS = {"name": "Demo Viewer", "line1": "1 Market St", "city": "San Francisco", "region": "US-CA",
           "postal_code": "94105", "country": "US"}
CARD = {"card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "name": "Demo Viewer"}


async def wait_for_app(client: httpx.AsyncClient) -> None:
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/healthz")).status_code == 200:
                return
        await asyncio.sleep(1)


async def log_in(client: httpx.AsyncClient, name: str, password: str) -> str | None:
    answer = await client.post("/api/v1/auth/login", json={"email": f"{name}@{DOMAIN}", "password": password})
    return str(answer.json()["token"]) if answer.status_code == 200 else None


async def demo_live_on_air(client: httpx.AsyncClient) -> int | None:
    answer = await client.get("/api/v1/lives", params={"status": "live", "limit": 50})
    if answer.status_code != 200:
        return None
    found = [item["id"] for item in answer.json()["items"] if item["is_demo"]]
    return int(found[0]) if found else None


async def buy(client: httpx.AsyncClient, token: str, live_id: int, product_id: int) -> None:
    """Buy one of the product (its first variant in stock) with the sandbox success card."""
    headers = {"Authorization": f"Bearer {token}"}
    product = (await client.get(f"/api/v1/products/{product_id}")).json()
    variant = next((v for v in product.get("variants", []) if v.get("available", 0) > 0), None)
    if variant is None:
        return
    checkout = await client.post("/api/v1/checkouts", headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                                 json={"items": [{"variant_id": variant["id"], "quantity": 1}], "address": ADDRESS,
                                       "live_id": live_id})
    if checkout.status_code != 201:
        log.info("demo viewer: checkout answered %s", checkout.status_code)
        return
    paid = await client.post(f"/api/v1/checkouts/{checkout.json()['id']}/pay",
                             headers={**headers, "Idempotency-Key": str(uuid.uuid4())}, json=CARD)
    log.info("demo viewer bought product %s in LIVE %s: %s", product_id, live_id, paid.status_code)


async def gift(client: httpx.AsyncClient, token: str, live_id: int, rng: random.Random) -> None:
    """Send a small gift (the room animates it for everyone); out of coins, top up first with the
    smallest pack and the sandbox card."""
    headers = {"Authorization": f"Bearer {token}"}
    gifts = [g for g in (await client.get("/api/v1/gifts")).json() if g["coins"] <= 10 and not g["joins_fan_club"]]
    if not gifts:
        return
    chosen = rng.choice(gifts)
    body = {"gift_id": chosen["id"], "quantity": rng.randint(1, 3)}
    sent = await client.post(f"/api/v1/lives/{live_id}/gifts", json=body,
                             headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    if sent.status_code == 402:
        purchase = await client.post("/api/v1/coins/purchases", json={"pack": "coins_65"},
                                     headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        if purchase.status_code != 201:
            return
        await client.post(f"/api/v1/payments/{purchase.json()['payment_intent_id']}/confirm", json=CARD,
                          headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        sent = await client.post(f"/api/v1/lives/{live_id}/gifts", json=body,
                                 headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    log.info("demo viewer sent %s in LIVE %s: %s", chosen["name"], live_id, sent.status_code)


async def watch(base: str, client: httpx.AsyncClient, token: str, live_id: int, rng: random.Random) -> None:
    """One viewer in the room until it closes: chat every 8–25 s, like in small bursts, now and then
    send a gift or buy the pinned product."""
    url = base.replace("http", "ws", 1).rstrip("/") + f"/api/v1/lives/{live_id}/room"
    pinned: dict[str, Any] | None = None
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                                  open_timeout=10, max_size=2**20) as socket:

        async def read() -> None:
            nonlocal pinned
            async for raw in socket:
                frame = orjson.loads(raw)
                if frame.get("type") == "snapshot":
                    pinned = frame.get("pinned")
                elif frame.get("type") == "pinned":
                    pinned = frame.get("product")
                elif frame.get("type") == "ended":
                    return

        reader = asyncio.create_task(read())
        try:
            while not reader.done():
                await asyncio.sleep(rng.uniform(8, 25))
                if reader.done():
                    break
                roll = rng.random()
                if roll < 0.55:
                    await socket.send(orjson.dumps({"type": "chat", "text": rng.choice(CHAT)}).decode())
                elif roll < 0.9:
                    await socket.send(orjson.dumps({"type": "like", "count": rng.randint(1, 8)}).decode())
                elif roll < 0.97:
                    await gift(client, token, live_id, rng)
                elif pinned is not None:
                    await buy(client, token, live_id, int(pinned["id"]))
        finally:
            reader.cancel()


async def viewer(base: str, name: str, password: str, seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await wait_for_app(client)
        token = None
        while True:
            try:
                token = token or await log_in(client, name, password)
                live_id = await demo_live_on_air(client) if token else None
                if token is None or live_id is None:
                    await asyncio.sleep(10)  # no demo world, or the demo LIVE is not on air yet
                    continue
                await asyncio.sleep(rng.uniform(0, 10))  # viewers arrive one by one
                await watch(base, client, token, live_id, rng)
            except (OSError, httpx.HTTPError, websockets.WebSocketException, ValueError) as exc:
                log.info("demo viewer %s: %s; trying again", name, type(exc).__name__)
            await asyncio.sleep(rng.uniform(5, 15))


async def run(base: str) -> None:
    password = get_settings().demo_password
    await asyncio.gather(*(viewer(base, name, password, n) for n, name in enumerate(VIEWERS)))


def main() -> None:
    parser = argparse.ArgumentParser(description="Demo viewers of the demo LIVE (labelled demo).")
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="The app's own address")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.base))


if __name__ == "__main__":
    main()
