"""R6: killing the process between steps of checkout and payment, then retrying with the same
Idempotency-Key, gives exactly one checkout, one charge, one paid order and balanced books."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.models import Variant
from mercato.ledger import service as ledger
from mercato.ledger.models import LedgerTransaction
from mercato.orders.models import Checkout, Order
from mercato.payments.models import SandboxCharge
from tests.harness import app_process
from tests.orders.conftest import card


def counts(db_run: Any, variant_id: int) -> dict[str, Any]:
    async def read(session: AsyncSession) -> dict[str, Any]:
        variant = await session.get(Variant, variant_id)
        assert variant is not None
        one = select(func.count())
        return {
            "checkouts": int((await session.execute(one.select_from(Checkout))).scalar_one()),
            "paid": int((await session.execute(one.select_from(Order).where(Order.status == "paid"))).scalar_one()),
            "charges": int((await session.execute(one.select_from(SandboxCharge))).scalar_one()),
            "payments": int((await session.execute(one.select_from(LedgerTransaction)
                                                   .where(LedgerTransaction.kind == "order_payment"))).scalar_one()),
            "reserved": variant.reserved, "allocated": variant.allocated,
            "balance": await ledger.trial_balance(session),
        }

    result: dict[str, Any] = db_run(read)
    return result


@pytest.mark.parametrize("fault", ["checkout.after_reserve", "pay.after_charge", "pay.before_commit"])
def test_kill_and_retry(fault: str, clean_db: str, api: httpx.Client, stocked: Callable[..., dict[str, Any]],
                        buyer: Callable[..., dict[str, Any]], db_run: Any) -> None:
    item = stocked(price=4200, stock=5)
    shopper = buyer()
    body = {"items": [{"variant_id": item["variant_id"], "quantity": 2}]}
    checkout_key = {"Idempotency-Key": f"checkout-{fault}"}
    pay_key = {"Idempotency-Key": f"pay-{fault}"}
    checkout_id: int | None = None
    if fault != "checkout.after_reserve":
        created = api.post("/api/v1/checkouts", headers={**shopper["headers"], **checkout_key}, json=body)
        assert created.status_code == 201
        checkout_id = created.json()["id"]

    with app_process(clean_db, fault=fault) as url, pytest.raises(httpx.HTTPError):  # the process dies mid-request
        if checkout_id is None:
            httpx.post(f"{url}/api/v1/checkouts", headers={**shopper["headers"], **checkout_key}, json=body,
                       timeout=30)
        else:
            httpx.post(f"{url}/api/v1/checkouts/{checkout_id}/pay", headers={**shopper["headers"], **pay_key},
                       json=card(), timeout=30)
    after_crash = counts(db_run, item["variant_id"])
    assert after_crash["paid"] == 0 and after_crash["payments"] == 0
    # On PostgreSQL the sandbox provider keeps its charge in a transaction of its own, like a remote
    # provider would; on SQLite (one writer at a time) it commits together with the attempt.
    kept = fault.startswith("pay.") and not clean_db.startswith("sqlite")
    assert after_crash["charges"] == (1 if kept else 0)

    time.sleep(1.2)  # the crashed request's idempotency lock goes stale
    with app_process(clean_db) as url:
        if checkout_id is None:
            created = httpx.post(f"{url}/api/v1/checkouts", headers={**shopper["headers"], **checkout_key},
                                 json=body, timeout=30)
            assert created.status_code == 201, created.text
            checkout_id = created.json()["id"]
        paid = httpx.post(f"{url}/api/v1/checkouts/{checkout_id}/pay", headers={**shopper["headers"], **pay_key},
                          json=card(), timeout=30)
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "paid"
        replay = httpx.post(f"{url}/api/v1/checkouts/{checkout_id}/pay", headers={**shopper["headers"], **pay_key},
                            json=card(), timeout=30)
        assert replay.json() == paid.json()
    final = counts(db_run, item["variant_id"])
    assert final["checkouts"] == 1 and final["paid"] == 1 and final["charges"] == 1 and final["payments"] == 1
    assert (final["reserved"], final["allocated"]) == (0, 2)
    assert final["balance"] == {"USD": 0}
