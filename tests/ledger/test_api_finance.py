"""The finance API and pages over real HTTP: balances, statement, payout method, payouts (sent,
held and released, idempotent), authorization and age rules, and the operator's ledger check.

Orders do not exist in this domain yet, so money arrives through the ledger services with
made-up order ids."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.catalog.models import Shop
from mercato.config import Settings
from mercato.kit import jobs, outbox
from mercato.ledger import payouts, postings, service
from mercato.ledger.models import LedgerEntry, LedgerTransaction, Payout, PayoutMethod

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]
ZERO = {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 0}


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body


def _pay(db_run: DbRun, shop_id: int, order_id: int, paid: int, *, currency: str = "USD", tax: int = 0,
         discount: int = 0, settle: bool = True) -> postings.PaymentSplit:
    split = postings.split_payment(paid, tax, discount, 600)

    async def go(db: AsyncSession) -> None:
        await postings.post_order_payment(db, order_id=order_id, shop_id=shop_id, currency=currency, split=split)
        if settle:
            await postings.post_settlement(db, order_id=order_id, shop_id=shop_id, currency=currency)

    db_run(go)
    return split


def _backdate_method(db_run: DbRun, shop_id: int, hours: int = 49) -> None:
    async def go(db: AsyncSession) -> None:
        await db.execute(update(PayoutMethod).where(PayoutMethod.shop_id == shop_id)
                         .values(changed_at=datetime.now(UTC) - timedelta(hours=hours)))

    db_run(go)


def _set_method(api: httpx.Client, shop: dict[str, Any], number: str = "DE89 3704 0044 0532 0130 00") -> None:
    response = api.put(f"/api/v1/shops/{shop['slug']}/payout-method", headers=shop["owner"]["headers"],
                       json={"account_holder": "Jane  Doe", "account_number": number})
    assert response.status_code == 200, response.text


def _finance(api: httpx.Client, shop: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.get(f"/api/v1/shops/{shop['slug']}/finance", headers=headers or shop["owner"]["headers"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _balances(api: httpx.Client, shop: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {b.pop("currency"): b for b in _finance(api, shop)["balances"]}


def _payout_count(db_run: DbRun) -> int:
    async def go(db: AsyncSession) -> int:
        return int((await db.execute(select(func.count()).select_from(Payout))).scalar_one())

    return int(db_run(go))


def _make_admin(db_run: DbRun, user_id: int) -> None:
    async def go(db: AsyncSession) -> None:
        await db.execute(update(User).where(User.id == user_id).values(is_admin=True))

    db_run(go)


def test_balances_and_statement_follow_the_postings(api: httpx.Client, make_shop: Maker, make_user: Maker,
                                                    db_run: DbRun) -> None:
    shop = make_shop()
    _pay(db_run, shop["id"], 1, 10_000, tax=800, discount=1_000)  # fee 612, seller 9,588 — settled
    _pay(db_run, shop["id"], 2, 5_000, settle=False)  # fee 300, seller 4,700 — pending
    _pay(db_run, shop["id"], 3, 1_200, currency="JPY", settle=False)  # fee 72, seller 1,128

    async def refund(db: AsyncSession) -> None:
        split = postings.split_payment(5_000, 0, 0, 600)
        await postings.post_refund(db, refund_id=1, order_id=2, shop_id=shop["id"], currency="USD",
                                   parts=postings.split_refund(split, 0, 1_000))

    db_run(refund)
    finance = _finance(api, shop)
    assert finance["shop"] == shop["slug"] and finance["currency"] == "USD"
    assert finance["payout_method"] is None and finance["recent_payouts"] == []
    assert _balances(api, shop) == {
        "JPY": {"pending": 1_128, "available": 0, "in_transit": 0, "paid_out": 0},
        "USD": {"pending": 4_700 - 940, "available": 9_588, "in_transit": 0, "paid_out": 0},
    }

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        response = api.get(f"/api/v1/shops/{shop['slug']}/finance/statement", headers=shop["owner"]["headers"],
                           params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [(line["kind"], line["account"], line["currency"], line["amount"], line["order_id"]) for line in seen] == [
        ("refund", "pending", "USD", -940, 2),
        ("order_payment", "pending", "JPY", 1_128, 3),
        ("order_payment", "pending", "USD", 4_700, 2),
        ("settlement", "available", "USD", 9_588, 1),
        ("settlement", "pending", "USD", -9_588, 1),
        ("order_payment", "pending", "USD", 9_588, 1),
    ]
    assert [line["id"] for line in seen] == sorted((line["id"] for line in seen), reverse=True)
    _error(api.get(f"/api/v1/shops/{shop['slug']}/finance/statement", headers=shop["owner"]["headers"],
                   params={"cursor": "not-a-cursor"}), 422, "invalid_cursor")

    # Staff may look; outsiders and anonymous callers may not.
    staff = make_user()
    assert api.post(f"/api/v1/shops/{shop['slug']}/members", headers=shop["owner"]["headers"],
                    json={"email": staff["user"]["email"]}).status_code == 201
    assert _finance(api, shop, staff["headers"])["balances"] == finance["balances"]
    outsider = make_user()
    _error(api.get(f"/api/v1/shops/{shop['slug']}/finance", headers=outsider["headers"]), 403, "not_shop_member")
    _error(api.get(f"/api/v1/shops/{shop['slug']}/finance/statement", headers=outsider["headers"]), 403,
           "not_shop_member")
    _error(api.get(f"/api/v1/shops/{shop['slug']}/payouts", headers=outsider["headers"]), 403, "not_shop_member")
    _error(api.get(f"/api/v1/shops/{shop['slug']}/finance"), 401, "not_authenticated")
    _error(api.get("/api/v1/shops/no-such-shop/finance", headers=outsider["headers"]), 404, "not_found")


def test_payout_happy_path(api: httpx.Client, make_shop: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    _pay(db_run, shop["id"], 1, 10_000)  # seller 9,400
    response = api.put(f"/api/v1/shops/{shop['slug']}/payout-method", headers=shop["owner"]["headers"],
                       json={"account_holder": "Jane  Doe", "account_number": "DE89 3704 0044 0532 0130 00"})
    assert response.status_code == 200, response.text
    method = response.json()
    assert method["label"] == "Jane Doe ····3000" and method["kind"] == "bank_account"
    assert "0532" not in response.text
    _backdate_method(db_run, shop["id"])

    response = api.post(f"/api/v1/shops/{shop['slug']}/payouts", headers=shop["owner"]["headers"],
                        json={"currency": "USD"})
    assert response.status_code == 201, response.text
    payout = response.json()
    assert (payout["status"], payout["amount"], payout["currency"]) == ("sent", 9_400, "USD")
    assert payout["provider_ref"].startswith("po_sandbox_") and payout["sent_at"] and payout["hold_reason"] is None
    assert _balances(api, shop) == {"USD": {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 9_400}}
    listed = api.get(f"/api/v1/shops/{shop['slug']}/payouts", headers=shop["owner"]["headers"]).json()
    assert listed == {"items": [payout], "next_cursor": None}

    async def effects(db: AsyncSession) -> dict[str, Any]:
        events = await outbox.events_for(db, "payout", payout["id"])
        emails = await outbox.recent_emails(db, to=shop["owner"]["user"]["email"])
        return {"events": [(e.topic, e.payload) for e in events], "emails": [(m.subject, m.topic) for m in emails],
                "cash": await service.balance(db, "platform:cash:USD"), "trial": await service.trial_balance(db)}

    seen = db_run(effects)
    assert seen["cash"] == 10_000 - 9_400  # the fee stays with the platform
    assert seen["trial"] == {"USD": 0}
    assert [topic for topic, _ in seen["events"]] == ["payout.sent"]
    assert {k: seen["events"][0][1][k] for k in ("payout_id", "shop_id", "amount", "currency", "provider_ref")} == {
        "payout_id": payout["id"], "shop_id": shop["id"], "amount": 9_400, "currency": "USD",
        "provider_ref": payout["provider_ref"]}
    assert seen["emails"] == [("Payout of $94.00 sent", "payout.sent")]


def test_a_payout_is_held_after_a_method_change_then_released(api: httpx.Client, make_shop: Maker, db_run: DbRun,
                                                             settings: Settings) -> None:
    assert "release_held_payouts" in jobs.REGISTRY
    shop = make_shop(currency="KWD")
    _pay(db_run, shop["id"], 1, 12_345, currency="KWD")  # fee 741, seller 11,604
    _set_method(api, shop)
    response = api.post(f"/api/v1/shops/{shop['slug']}/payouts", headers=shop["owner"]["headers"], json={})
    assert response.status_code == 201, response.text
    payout = response.json()
    assert (payout["status"], payout["amount"], payout["currency"], payout["provider_ref"]) == (
        "held", 11_604, "KWD", None)
    assert "changed less than 48 hours ago" in payout["hold_reason"]
    release_at = datetime.fromisoformat(payout["release_at"])
    created_at = datetime.fromisoformat(payout["created_at"])
    assert timedelta(hours=47, minutes=59) < release_at - created_at <= timedelta(hours=48)
    assert _balances(api, shop) == {"KWD": {"pending": 0, "available": 0, "in_transit": 11_604, "paid_out": 0}}

    def release(at: datetime) -> int:
        async def go(db: AsyncSession) -> int:
            return await payouts.release_held_payouts(db, settings, now=at)

        return int(db_run(go))

    assert release(release_at - timedelta(minutes=1)) == 0
    assert _balances(api, shop)["KWD"]["in_transit"] == 11_604
    assert release(release_at + timedelta(seconds=1)) == 1
    assert release(release_at + timedelta(hours=1)) == 0  # already sent: the job is idempotent
    sent = api.get(f"/api/v1/shops/{shop['slug']}/payouts", headers=shop["owner"]["headers"]).json()["items"]
    assert [(p["id"], p["status"]) for p in sent] == [(payout["id"], "sent")]
    assert sent[0]["provider_ref"].startswith("po_sandbox_")
    assert _balances(api, shop) == {"KWD": {"pending": 0, "available": 0, "in_transit": 0, "paid_out": 11_604}}

    async def effects(db: AsyncSession) -> tuple[list[str], list[str], int]:
        events = [e.topic for e in await outbox.events_for(db, "payout", payout["id"])]
        emails = [m.subject for m in await outbox.recent_emails(db, to=shop["owner"]["user"]["email"])]
        return events, emails, await service.balance(db, "platform:cash:KWD")

    events, emails, cash = db_run(effects)
    assert events == ["payout.sent"] and cash == 741
    assert sorted(emails) == ["Payout of 11.604 د.ك on hold", "Payout of 11.604 د.ك sent"]


def test_idempotency_key_replays_the_payout(api: httpx.Client, make_shop: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    _pay(db_run, shop["id"], 1, 3_000)
    _set_method(api, shop)
    _backdate_method(db_run, shop["id"])
    headers = {**shop["owner"]["headers"], "Idempotency-Key": "payout-key-1"}
    first = api.post(f"/api/v1/shops/{shop['slug']}/payouts", headers=headers, json={"currency": "USD"})
    second = api.post(f"/api/v1/shops/{shop['slug']}/payouts", headers=headers, json={"currency": "USD"})
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json() == second.json() and first.json()["amount"] == 2_820
    assert second.headers.get("idempotent-replayed") == "true"
    assert _payout_count(db_run) == 1
    _error(api.post(f"/api/v1/shops/{shop['slug']}/payouts", headers=headers, json={"currency": "JPY"}), 422,
           "idempotency_key_reused")
    _error(api.post(f"/api/v1/shops/{shop['slug']}/payouts", headers={**headers, "Idempotency-Key": "other"},
                    json={"currency": "USD"}), 409, "nothing_to_pay_out")
    assert _payout_count(db_run) == 1

    async def requests(db: AsyncSession) -> int:
        return int((await db.execute(select(func.count()).select_from(LedgerTransaction)
                                     .where(LedgerTransaction.kind == "payout_request"))).scalar_one())

    assert db_run(requests) == 1


def _ledger_rows(db_run: DbRun) -> tuple[int, int]:
    async def go(db: AsyncSession) -> tuple[int, int]:
        entries = int((await db.execute(select(func.count()).select_from(LedgerEntry))).scalar_one())
        return entries, int((await db.execute(select(func.count()).select_from(Payout))).scalar_one())

    result: tuple[int, int] = db_run(go)
    return result


def test_nothing_to_pay_out_and_no_payout_method(api: httpx.Client, make_shop: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    url = f"/api/v1/shops/{shop['slug']}/payouts"
    _pay(db_run, shop["id"], 1, 1_000, settle=False)  # pending only
    _set_method(api, shop)
    _backdate_method(db_run, shop["id"])
    before = _ledger_rows(db_run)
    _error(api.post(url, headers=shop["owner"]["headers"], json={"currency": "USD"}), 409, "nothing_to_pay_out")
    _error(api.post(url, headers=shop["owner"]["headers"], json={"currency": "JPY"}), 409, "nothing_to_pay_out")
    _error(api.post(url, headers=shop["owner"]["headers"], json={"currency": "ZZZ"}), 422, "invalid_currency")

    other = make_shop()
    _pay(db_run, other["id"], 2, 1_000)
    before_other = _ledger_rows(db_run)
    _error(api.post(f"/api/v1/shops/{other['slug']}/payouts", headers=other["owner"]["headers"], json={}), 422,
           "no_payout_method")
    assert _ledger_rows(db_run) == before_other and before_other[1] == before[1] == 0
    assert _balances(api, other)["USD"] == {**ZERO, "available": 940}


def test_only_the_owner_may_pay_out(api: httpx.Client, make_shop: Maker, make_user: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    _pay(db_run, shop["id"], 1, 2_000)
    _set_method(api, shop)
    _backdate_method(db_run, shop["id"])
    staff = make_user()
    assert api.post(f"/api/v1/shops/{shop['slug']}/members", headers=shop["owner"]["headers"],
                    json={"email": staff["user"]["email"]}).status_code == 201
    stranger = make_shop()  # the owner of another shop
    before = _ledger_rows(db_run)
    url = f"/api/v1/shops/{shop['slug']}/payouts"
    _error(api.post(url, headers={**staff["headers"], "Idempotency-Key": "k"}, json={}), 403, "owner_only")
    _error(api.post(url, headers={**stranger["owner"]["headers"], "Idempotency-Key": "k"}, json={}), 403,
           "not_shop_member")
    _error(api.put(f"/api/v1/shops/{shop['slug']}/payout-method", headers=staff["headers"],
                   json={"account_holder": "Thief", "account_number": "99999999"}), 403, "owner_only")
    _error(api.put(f"/api/v1/shops/{shop['slug']}/payout-method", headers=stranger["owner"]["headers"],
                   json={"account_holder": "Thief", "account_number": "99999999"}), 403, "not_shop_member")
    assert _ledger_rows(db_run) == before
    assert _finance(api, shop)["payout_method"]["label"] == "Jane Doe ····3000"
    # The owner can still use the same key afterwards: refused attempts leave no key behind.
    response = api.post(url, headers={**shop["owner"]["headers"], "Idempotency-Key": "k"}, json={})
    assert response.status_code == 201 and response.json()["status"] == "sent"


def test_an_owner_under_18_gets_no_payout(api: httpx.Client, make_shop: Maker, make_user: Maker,
                                          db_run: DbRun) -> None:
    today = date.today()
    minor = make_user(dob=date(today.year - 15, 1, 1).isoformat())
    shop = make_shop(owner=minor)
    _pay(db_run, shop["id"], 1, 2_000)

    async def method(db: AsyncSession) -> None:
        loaded = await db.get(Shop, shop["id"])
        assert loaded is not None
        await payouts.set_payout_method(db, loaded, account_holder="Kid", account_number="12345678",
                                        now=datetime.now(UTC) - timedelta(days=3))

    db_run(method)
    before = _ledger_rows(db_run)
    _error(api.post(f"/api/v1/shops/{shop['slug']}/payouts", headers=minor["headers"], json={}), 403,
           "age_restricted")
    _error(api.put(f"/api/v1/shops/{shop['slug']}/payout-method", headers=minor["headers"],
                   json={"account_holder": "Kid", "account_number": "87654321"}), 403, "age_restricted")
    assert _ledger_rows(db_run) == before
    assert _balances(api, shop)["USD"] == {**ZERO, "available": 1_880}


def test_payout_method_input_is_validated(api: httpx.Client, make_shop: Maker) -> None:
    shop = make_shop()
    url = f"/api/v1/shops/{shop['slug']}/payout-method"
    headers = shop["owner"]["headers"]
    _error(api.put(url, headers=headers, json={"account_holder": "Jane", "account_number": "12"}), 422,
           "validation_error")
    _error(api.put(url, headers=headers, json={"account_number": "12345678"}), 422, "validation_error")
    _error(api.put(url, headers=headers, json={"account_holder": "Jane", "account_number": "1234-5678-<script>"}),
           422, "invalid_account_number")
    _error(api.put(url, headers=headers, json={"account_holder": "   J   ", "account_number": "12345678"}), 422,
           "invalid_account_holder")
    assert _finance(api, shop)["payout_method"] is None


def test_admin_ledger_check(api: httpx.Client, make_shop: Maker, make_user: Maker, db_run: DbRun) -> None:
    shop = make_shop()
    _pay(db_run, shop["id"], 1, 10_000, tax=800, discount=1_000)
    _pay(db_run, shop["id"], 2, 1_500, currency="JPY", settle=False)
    _pay(db_run, shop["id"], 3, 2_001, currency="KWD")
    user = make_user()
    _error(api.get("/api/v1/admin/ledger", headers=user["headers"]), 403, "admin_only")
    assert api.get("/admin/ledger", headers=user["headers"]).status_code == 403
    _make_admin(db_run, user["user"]["id"])
    response = api.get("/api/v1/admin/ledger", headers=user["headers"])
    assert response.status_code == 200, response.text
    check = response.json()
    assert check["balanced"] is True and check["unbalanced_transactions"] == []
    assert check["trial_balance"] == [{"currency": c, "sum": 0, "balanced": True} for c in ("JPY", "KWD", "USD")]
    assert check["revenue"] == [
        {"currency": "JPY", "fees": 90, "promotions": 0, "tax_payable": 0, "cash": 1_500},
        {"currency": "KWD", "fees": 120, "promotions": 0, "tax_payable": 0, "cash": 2_001},
        {"currency": "USD", "fees": 612, "promotions": 1_000, "tax_payable": 800, "cash": 10_000},
    ]
    assert (check["transactions"], check["entries"]) == (5, 5 + 3 + 3 + 2 + 2)
    page = api.get("/admin/ledger", headers=user["headers"])
    assert page.status_code == 200 and "The ledger balances" in page.text
    assert page.text.count('class="right alert-ok" data-sum="0"') == 3


def test_finance_page_requests_a_payout_once_per_form(api: httpx.Client, make_shop: Maker, make_user: Maker,
                                                      db_run: DbRun) -> None:
    shop = make_shop(currency="JPY")
    _pay(db_run, shop["id"], 1, 12_000, currency="JPY")  # fee 720, seller 11,280
    headers = shop["owner"]["headers"]
    page = api.get(f"/seller/{shop['slug']}/finance", headers=headers)
    assert page.status_code == 200, page.text
    assert "¥11,280" in page.text and "Add a payout method" in page.text
    response = api.post(f"/seller/{shop['slug']}/finance/payout-method", headers=headers,
                        data={"account_holder": "Ken Sato", "account_number": "1234 5678"})
    assert response.status_code == 303 and response.headers["location"].endswith("?saved=method")
    _backdate_method(db_run, shop["id"])
    page = api.get(f"/seller/{shop['slug']}/finance", headers=headers)
    assert "Ken Sato ····5678" in page.text and "Request payout of ¥11,280" in page.text
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert match
    form = {"currency": "JPY", "idempotency_key": match.group(1)}
    first = api.post(f"/seller/{shop['slug']}/finance/payouts", headers=headers, data=form)
    second = api.post(f"/seller/{shop['slug']}/finance/payouts", headers=headers, data=form)  # a double submit
    assert first.status_code == second.status_code == 303
    payout_id = _finance(api, shop)["recent_payouts"][0]["id"]
    assert first.headers["location"] == f"/seller/{shop['slug']}/finance?payout={payout_id}"
    assert second.headers["location"] == f"/seller/{shop['slug']}/finance?payout={payout_id}&replayed=1"
    assert _payout_count(db_run) == 1
    done = api.get(first.headers["location"], headers=headers)
    assert f"Payout #{payout_id} of ¥11,280 was sent" in done.text
    # A fresh form with nothing left explains itself next to the form instead of failing silently.
    again = api.post(f"/seller/{shop['slug']}/finance/payouts", headers=headers,
                     data={"currency": "JPY", "idempotency_key": "fresh-key"})
    assert again.status_code == 409 and "nothing to pay out" in again.text
    staff = make_user()
    assert api.post(f"/api/v1/shops/{shop['slug']}/members", headers=headers,
                    json={"email": staff["user"]["email"]}).status_code == 201
    staff_page = api.get(f"/seller/{shop['slug']}/finance", headers=staff["headers"])
    assert staff_page.status_code == 200 and "Only the shop owner" in staff_page.text
    assert "idempotency_key" not in staff_page.text


def test_concurrent_payout_requests_pay_once(api: httpx.Client, make_shop: Maker, db_run: DbRun,
                                             server: str) -> None:
    """Different keys at once: one payout, the rest 409. The same key at once: one payout too."""
    shop = make_shop()
    _pay(db_run, shop["id"], 1, 5_000)
    _pay(db_run, shop["id"], 2, 5_000)
    _set_method(api, shop)
    _backdate_method(db_run, shop["id"])
    url = f"{server}/api/v1/shops/{shop['slug']}/payouts"

    def attempt(key: str) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            return client.post(url, headers={**shop["owner"]["headers"], "Idempotency-Key": key}, json={})

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(attempt, [f"key-{i}" for i in range(6)]))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 5
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {"nothing_to_pay_out"}
    assert _payout_count(db_run) == 1

    _pay(db_run, shop["id"], 3, 5_000)
    with ThreadPoolExecutor(6) as pool:
        same = list(pool.map(attempt, ["same-key"] * 6))
    created = [r for r in same if r.status_code == 201]
    assert created and all(r.json() == created[0].json() for r in created)
    assert all(r.status_code in (201, 409) for r in same)
    assert {r.json()["error"]["code"] for r in same if r.status_code == 409} <= {"idempotency_in_progress"}
    assert _payout_count(db_run) == 2
    assert _balances(api, shop)["USD"] == {**ZERO, "paid_out": 3 * 4_700}
