"""Statement budget of sending a gift (tests/budgets.py): ``POST /api/v1/lives/{id}/gifts`` on a warm
server (the viewer sent a gift before, so the gift catalog is in the process's copy and the
ledger accounts exist), with the listeners the app installs (fan club, community, analytics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.budgets import assert_budget, measure
from tests.live.gifts.test_gifts_api import buy, gift_id, key

#: database → (statements, transactions) of one send. The request's own: the session look-up and
#: the idempotency key's claim and answer (PostgreSQL: and its advisory lock). The send: one read
#: of the LIVE, its host's birth date and the sender's last send; the guarded debit (its
#: ``RETURNING`` is the balance answered); the open lots and the one lot taken from; the send row;
#: the coin history line; the ledger (account ids, transaction, its entries); the fan club's one
#: guarded points update; analytics' event and its queueing for the fold (one statement on
#: PostgreSQL, two on SQLite). Nothing for the catalog (the
#: process's copy) and nothing for community missions outside an event.
SEND = {"sqlite": (15, 1), "postgresql": (15, 1)}


def test_sending_a_gift_keeps_its_statement_budget(api: httpx.Client, make_user: Callable[..., dict[str, Any]],
                                                   make_host: Callable[..., dict[str, Any]],
                                                   make_live: Callable[..., int]) -> None:
    host = make_host()
    live_id = make_live(host)
    viewer = make_user()
    buy(api, viewer)
    rose = gift_id(api, "Rose")

    def send() -> httpx.Response:
        return api.post(f"/api/v1/lives/{live_id}/gifts", json={"gift_id": rose, "quantity": 2},
                        headers={**viewer["headers"], **key()})

    first = send()  # warms the server: the catalog's copy, the ledger accounts
    assert first.status_code == 201, first.text
    sent, seen = measure(send)
    assert sent.status_code == 201, sent.text
    assert (sent.json()["combo"], sent.json()["balance"]) == (4, 61)
    assert_budget("POST /api/v1/lives/{id}/gifts", seen, SEND)
