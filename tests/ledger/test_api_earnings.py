"""A creator's earnings over real HTTP: balances, statement, sections, payout method, payouts
(sent, held then released, idempotent, minimum, clawback netted), only ever the signed-in
user's own, adults only; the Earnings page; creator liabilities on the operator's ledger check.

Gifts and affiliate commissions live in other domains: money arrives here through the ledger
services, as those domains post it (diamonds to available, commissions to pending)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User
from mercato.config import Settings
from mercato.kit import outbox
from mercato.ledger import earnings, payouts, service
from mercato.ledger.earnings import EarningsSection
from mercato.ledger.models import LedgerEntry, LedgerTransaction, Payout, PayoutMethod
from mercato.ledger.service import Posting, creator_account, platform_account

Maker = Callable[..., dict[str, Any]]
DbRun = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]
ME = "/api/v1/creators/me"


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]


def _diamonds(db_run: DbRun, creator_id: int, amount: int, ref: str, currency: str = "USD") -> None:
    """A gift's host share as diamonds: straight to available."""
    async def go(db: AsyncSession) -> None:
        await service.post(db, kind="test_gift", reference=ref, currency=currency, postings=[
            Posting(platform_account("cash", currency), amount),
            Posting(creator_account(creator_id, "available", currency), -amount)], memo=f"Gift {ref}")

    db_run(go)


def _commission(db_run: DbRun, creator_id: int, amount: int, ref: str, *, release: bool = False,
                currency: str = "USD") -> None:
    async def go(db: AsyncSession) -> None:
        await service.post(db, kind="test_commission", reference=ref, currency=currency, postings=[
            Posting(platform_account("cash", currency), amount),
            Posting(creator_account(creator_id, "pending", currency), -amount)])
        if release:
            await earnings.release(db, creator_id=creator_id, currency=currency, amount=amount,
                                   kind="test_release", reference=ref)

    db_run(go)


def _clawback(db_run: DbRun, creator_id: int, amount: int, ref: str, currency: str = "USD") -> None:
    async def go(db: AsyncSession) -> None:
        await service.post(db, kind="test_reversal", reference=ref, currency=currency, postings=[
            Posting(creator_account(creator_id, "available", currency), amount),
            Posting(platform_account("cash", currency), -amount)])

    db_run(go)


def _earnings(api: httpx.Client, user: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"{ME}/earnings", headers=user["headers"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _balances(api: httpx.Client, user: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b.pop("currency"): b for b in _earnings(api, user)["balances"]}


def _set_method(api: httpx.Client, user: dict[str, Any], number: str = "GB29 NWBK 6016 1331 9268 19") -> None:
    response = api.put(f"{ME}/payout-method", headers=user["headers"],
                       json={"account_holder": "Ada Lovelace", "account_number": number})
    assert response.status_code == 200, response.text


def _backdate_method(db_run: DbRun, creator_id: int, hours: int = 49) -> None:
    async def go(db: AsyncSession) -> None:
        await db.execute(update(PayoutMethod).where(PayoutMethod.creator_id == creator_id)
                         .values(changed_at=datetime.now(UTC) - timedelta(hours=hours)))

    db_run(go)


def _rows(db_run: DbRun) -> tuple[int, int, int, int]:
    async def go(db: AsyncSession) -> tuple[int, int, int, int]:
        counts = []
        for model in (LedgerTransaction, LedgerEntry, Payout, PayoutMethod):
            counts.append(int((await db.execute(select(func.count()).select_from(model))).scalar_one()))
        return counts[0], counts[1], counts[2], counts[3]

    result: tuple[int, int, int, int] = db_run(go)
    return result


def _old_method(db_run: DbRun, api: httpx.Client, user: dict[str, Any]) -> None:
    _set_method(api, user)
    _backdate_method(db_run, user["user"]["id"])


def test_anonymous_callers_get_401_and_the_page_sends_them_to_log_in(api: httpx.Client) -> None:
    for method, path in [("get", f"{ME}/earnings"), ("get", f"{ME}/earnings/statement"), ("get", f"{ME}/payouts")]:
        _error(api.request(method, path), 401, "not_authenticated")
    _error(api.put(f"{ME}/payout-method", json={"account_holder": "Ada", "account_number": "12345678"}), 401,
           "not_authenticated")
    _error(api.post(f"{ME}/payouts", json={"currency": "USD"}), 401, "not_authenticated")
    page = api.get("/studio/earnings")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/studio/earnings"


def test_a_new_creator_sees_nothing_owed_and_the_empty_state(api: httpx.Client, make_user: Maker) -> None:
    creator = make_user()
    assert _earnings(api, creator) == {"balances": [], "payout_minimum": 1000, "payout_method": None,
                                       "recent_payouts": [], "sections": []}
    page = api.get("/studio/earnings", headers=creator["headers"])
    assert page.status_code == 200, page.text
    assert "Go LIVE or join an affiliate plan to start earning" in page.text
    assert 'href="/live/studio"' in page.text and 'href="/studio/affiliate"' in page.text
    assert 'aria-current="page" class="active">Earnings</a>' in page.text


def test_balances_and_statement_are_the_callers_own(api: httpx.Client, make_user: Maker, db_run: DbRun) -> None:
    ada, bob = make_user(), make_user()
    _diamonds(db_run, ada["user"]["id"], 700, "g1")
    _commission(db_run, ada["user"]["id"], 1_200, "c1", release=True)
    _commission(db_run, ada["user"]["id"], 300, "c2", currency="JPY")
    _diamonds(db_run, bob["user"]["id"], 99_999, "g2")
    assert _balances(api, ada) == {
        "JPY": {"pending": 300, "available": 0, "in_transit": 0, "paid_out": 0,
                "payout_blocked": "Nothing available to pay out yet.", "payout_held_until": None},
        "USD": {"pending": 0, "available": 1_900, "in_transit": 0, "paid_out": 0,
                "payout_blocked": "Add a payout method first.", "payout_held_until": None},
    }
    assert list(_balances(api, bob)) == ["USD"] and _balances(api, bob)["USD"]["available"] == 99_999
    page = api.get(f"{ME}/earnings/statement", headers=ada["headers"], params={"limit": 2})
    assert page.status_code == 200, page.text
    first = page.json()
    rest = api.get(f"{ME}/earnings/statement", headers=ada["headers"],
                   params={"cursor": first["next_cursor"]}).json()
    lines = [(x["account"], x["currency"], x["amount"], x["kind"], x["reference"])
             for x in first["items"] + rest["items"]]
    assert lines == [
        ("pending", "JPY", 300, "test_commission", "c2"),
        ("available", "USD", 1_200, "test_release", "c1"),
        ("pending", "USD", -1_200, "test_release", "c1"),
        ("pending", "USD", 1_200, "test_commission", "c1"),
        ("available", "USD", 700, "test_gift", "g1"),
    ]
    assert rest["next_cursor"] is None and first["items"][-1]["id"] > rest["items"][0]["id"]
    assert [x["reference"] for x in api.get(f"{ME}/earnings/statement", headers=bob["headers"]).json()["items"]] \
        == ["g2"]
    _error(api.get(f"{ME}/earnings/statement", headers=ada["headers"], params={"cursor": "nope"}), 422,
           "invalid_cursor")


def test_another_creators_payout_method_and_payouts_are_never_reachable(api: httpx.Client, make_user: Maker,
                                                                       db_run: DbRun) -> None:
    ada, bob = make_user(), make_user()
    _diamonds(db_run, ada["user"]["id"], 5_000, "g1")
    _old_method(db_run, api, ada)
    paid = api.post(f"{ME}/payouts", headers=ada["headers"], json={"currency": "USD"})
    assert paid.status_code == 201, paid.text
    assert _earnings(api, bob)["payout_method"] is None
    assert api.get(f"{ME}/payouts", headers=bob["headers"]).json() == {"items": [], "next_cursor": None}
    before = _rows(db_run)
    _error(api.post(f"{ME}/payouts", headers=bob["headers"], json={"currency": "USD"}), 409, "nothing_to_pay_out")
    assert _rows(db_run) == before
    assert [p["id"] for p in api.get(f"{ME}/payouts", headers=ada["headers"]).json()["items"]] == [paid.json()["id"]]


def test_a_payout_takes_the_whole_available_balance_and_is_sent(api: httpx.Client, make_user: Maker,
                                                                db_run: DbRun) -> None:
    creator = make_user()
    cid = creator["user"]["id"]
    _diamonds(db_run, cid, 1_234, "g1")
    _commission(db_run, cid, 4_000, "c1", release=True)
    _commission(db_run, cid, 500, "c2")  # pending: not paid out
    _old_method(db_run, api, creator)
    assert _balances(api, creator)["USD"]["payout_blocked"] is None
    response = api.post(f"{ME}/payouts", headers=creator["headers"], json={"currency": "usd"})
    assert response.status_code == 201, response.text
    payout = response.json()
    assert (payout["amount"], payout["currency"], payout["status"]) == (5_234, "USD", "sent")
    assert payout["provider_ref"].startswith("po_sandbox_")
    assert _balances(api, creator)["USD"] == {"pending": 500, "available": 0, "in_transit": 0, "paid_out": 5_234,
                                              "payout_blocked": "Nothing available to pay out yet.",
                                              "payout_held_until": None}

    async def effects(db: AsyncSession) -> tuple[list[str], list[str], dict[str, int], int | None, int | None]:
        events = [e.topic for e in await outbox.events_for(db, "payout", payout["id"])]
        emails = [m.subject for m in await outbox.recent_emails(db, to=creator["user"]["email"])]
        row = await db.get(Payout, payout["id"])
        assert row is not None
        return events, emails, await service.trial_balance(db), row.shop_id, row.creator_id

    events, emails, trial, shop_id, creator_id = db_run(effects)
    assert events == ["payout.sent"] and emails == ["Payout of $52.34 sent"]
    assert trial == {"USD": 0}
    assert (shop_id, creator_id) == (None, cid)


def test_below_the_minimum_is_refused_and_writes_nothing(api: httpx.Client, make_user: Maker, db_run: DbRun,
                                                         settings: Settings) -> None:
    assert settings.creator_payout_minimum == 1000
    creator = make_user()
    _diamonds(db_run, creator["user"]["id"], 999, "g1")
    _old_method(db_run, api, creator)
    before = _rows(db_run)
    error = _error(api.post(f"{ME}/payouts", headers=creator["headers"], json={"currency": "USD"}), 409,
                   "below_payout_minimum")
    assert error["message"] == "Payouts start at $10.00; you have $9.99 available."
    assert error["details"] == {"available": 999, "minimum": 1000, "currency": "USD"}
    assert _rows(db_run) == before
    balances = _balances(api, creator)["USD"]
    assert balances["available"] == 999
    assert balances["payout_blocked"] == "Payouts start at $10.00; you have $9.99 available."
    page = api.get("/studio/earnings", headers=creator["headers"])
    assert re.search(r'<button class="btn btn-primary" disabled[^>]*>Pay out</button>\s*<span[^>]*>'
                     r'Payouts start at \$10.00; you have \$9.99 available.</span>', page.text)
    _diamonds(db_run, creator["user"]["id"], 1, "g2")  # exactly the minimum is enough
    response = api.post(f"{ME}/payouts", headers=creator["headers"], json={"currency": "USD"})
    assert response.status_code == 201 and response.json()["amount"] == 1_000


def test_nothing_available_and_a_clawback_are_refused(api: httpx.Client, make_user: Maker, db_run: DbRun) -> None:
    creator = make_user()
    cid = creator["user"]["id"]
    _old_method(db_run, api, creator)
    before = _rows(db_run)
    error = _error(api.post(f"{ME}/payouts", headers=creator["headers"], json={"currency": "JPY"}), 409,
                   "nothing_to_pay_out")
    assert error["details"] == {"available": 0, "currency": "JPY"}
    _commission(db_run, cid, 2_000, "c1", release=True, currency="JPY")
    paid = api.post(f"{ME}/payouts", headers=creator["headers"], json={"currency": "JPY"})
    assert paid.status_code == 201 and paid.json()["amount"] == 2_000
    _clawback(db_run, cid, 1_500, "c1", currency="JPY")  # the commission's order was refunded after payout
    before = _rows(db_run)
    error = _error(api.post(f"{ME}/payouts", headers=creator["headers"], json={"currency": "JPY"}), 409,
                   "nothing_to_pay_out")
    assert error["details"] == {"available": -1_500, "currency": "JPY"}
    assert _rows(db_run) == before
    assert _balances(api, creator)["JPY"]["payout_blocked"] == \
        "A clawback of ¥1,500 is netted from your next earnings first."
    _diamonds(db_run, cid, 4_000, "g1", currency="JPY")  # the next earnings net the clawback
    nxt = api.post(f"{ME}/payouts", headers=creator["headers"], json={"currency": "JPY"})
    assert nxt.status_code == 201 and nxt.json()["amount"] == 2_500
    assert _balances(api, creator)["JPY"]["paid_out"] == 4_500


def test_a_minor_gets_403_and_nothing_is_written(api: httpx.Client, make_user: Maker, db_run: DbRun) -> None:
    today = date.today()
    minor = make_user(dob=date(today.year - 15, 1, 1).isoformat())
    _diamonds(db_run, minor["user"]["id"], 5_000, "g1")
    before = _rows(db_run)
    _error(api.put(f"{ME}/payout-method", headers=minor["headers"],
                   json={"account_holder": "Kid", "account_number": "87654321"}), 403, "age_restricted")
    _error(api.post(f"{ME}/payouts", headers=minor["headers"], json={"currency": "USD"}), 403, "age_restricted")
    _error(api.post(f"{ME}/payouts", headers={**minor["headers"], "Idempotency-Key": "k1"},
                    json={"currency": "USD"}), 403, "age_restricted")
    page = api.post("/studio/earnings/payouts", headers=minor["headers"], data={"currency": "USD"})
    assert page.status_code == 403
    assert _rows(db_run) == before
    assert _balances(api, minor)["USD"]["available"] == 5_000


def test_a_payout_after_a_method_change_is_held_then_released(api: httpx.Client, make_user: Maker, db_run: DbRun,
                                                               settings: Settings) -> None:
    creator = make_user()
    cid = creator["user"]["id"]
    _diamonds(db_run, cid, 12_000, "g1", currency="KWD")
    _set_method(api, creator)
    held_until = _balances(api, creator)["KWD"]["payout_held_until"]
    assert held_until is not None
    response = api.post(f"{ME}/payouts", headers=creator["headers"], json={"currency": "KWD"})
    assert response.status_code == 201, response.text
    payout = response.json()
    assert (payout["status"], payout["amount"], payout["provider_ref"]) == ("held", 12_000, None)
    assert payout["release_at"] == held_until
    assert "changed less than 48 hours ago" in payout["hold_reason"]
    balances = _balances(api, creator)["KWD"]
    assert (balances["available"], balances["in_transit"], balances["paid_out"]) == (0, 12_000, 0)
    _diamonds(db_run, cid, 3_000, "g2", currency="KWD")  # earnings during the hold: not offered while one waits
    release_at = datetime.fromisoformat(payout["release_at"])
    assert _balances(api, creator)["KWD"]["payout_blocked"] == \
        f"A payout of 12.000 د.ك is on hold until {release_at:%Y-%m-%d %H:%M} UTC."

    def release(at: datetime) -> int:
        async def go(db: AsyncSession) -> int:
            return await payouts.release_held_payouts(db, settings, now=at)

        return int(db_run(go))

    assert release(release_at - timedelta(minutes=1)) == 0
    assert release(release_at + timedelta(seconds=1)) == 1
    assert release(release_at + timedelta(hours=1)) == 0
    sent = api.get(f"{ME}/payouts", headers=creator["headers"]).json()["items"]
    assert [(p["id"], p["status"]) for p in sent] == [(payout["id"], "sent")]
    balances = _balances(api, creator)["KWD"]
    assert (balances["available"], balances["in_transit"], balances["paid_out"]) == (3_000, 0, 12_000)

    async def emails(db: AsyncSession) -> list[str]:
        return sorted(m.subject for m in await outbox.recent_emails(db, to=creator["user"]["email"]))

    assert db_run(emails) == ["Payout of 12.000 د.ك on hold", "Payout of 12.000 د.ك sent"]


def test_idempotency_key_replays_the_creator_payout(api: httpx.Client, make_user: Maker, db_run: DbRun) -> None:
    creator = make_user()
    _diamonds(db_run, creator["user"]["id"], 3_000, "g1")
    _old_method(db_run, api, creator)
    headers = {**creator["headers"], "Idempotency-Key": "creator-payout-1"}
    first = api.post(f"{ME}/payouts", headers=headers, json={"currency": "USD"})
    second = api.post(f"{ME}/payouts", headers=headers, json={"currency": "USD"})
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json() == second.json() and first.json()["amount"] == 3_000
    assert second.headers.get("idempotent-replayed") == "true"
    assert _rows(db_run)[2] == 1
    _error(api.post(f"{ME}/payouts", headers=headers, json={"currency": "JPY"}), 422, "idempotency_key_reused")


def test_payout_method_is_validated_and_masked(api: httpx.Client, make_user: Maker, db_run: DbRun) -> None:
    creator = make_user()
    before = _rows(db_run)
    _error(api.put(f"{ME}/payout-method", headers=creator["headers"],
                   json={"account_holder": "Ada", "account_number": "12-!!-34"}), 422, "invalid_account_number")
    assert _rows(db_run) == before
    _set_method(api, creator, "1234 5678 90")
    method = _earnings(api, creator)["payout_method"]
    assert method["label"] == "Ada Lovelace ····7890"
    changed = datetime.fromisoformat(method["changed_at"])
    assert datetime.fromisoformat(method["hold_until"]) - changed == timedelta(hours=48)
    _diamonds(db_run, creator["user"]["id"], 2_000, "g1")
    _error(api.post(f"{ME}/payouts", headers=creator["headers"], json={"currency": "XXX"}), 422, "invalid_currency")


@pytest.fixture
def sections() -> Iterator[None]:
    async def diamonds(db: AsyncSession, user: User) -> list[EarningsSection]:
        return [EarningsSection(key="diamonds_by_live", title="Diamonds by LIVE", columns=("LIVE", "Diamonds"),
                                rows=((f"Haul of {user.display_name}", "$1.20"),))]

    async def fragment(db: AsyncSession, user: User) -> list[EarningsSection]:
        return [EarningsSection(key="commissions", title="Commissions by product",
                                html='<p data-fragment="1">Fragment</p>'),
                EarningsSection(key="plans", title="Plans", empty="Join a plan first.")]

    earnings.register_earnings_section(diamonds)
    earnings.register_earnings_section(fragment)
    try:
        yield
    finally:
        earnings.unregister_earnings_section(diamonds)
        earnings.unregister_earnings_section(fragment)


def test_registered_sections_show_in_the_api_and_on_the_page(api: httpx.Client, make_user: Maker,
                                                             sections: None) -> None:
    creator = make_user("ada")
    assert _earnings(api, creator)["sections"] == [
        {"key": "diamonds_by_live", "title": "Diamonds by LIVE", "columns": ["LIVE", "Diamonds"],
         "rows": [["Haul of Ada", "$1.20"]]},
        {"key": "commissions", "title": "Commissions by product", "columns": [], "rows": []},
        {"key": "plans", "title": "Plans", "columns": [], "rows": []},
    ]
    page = api.get("/studio/earnings", headers=creator["headers"]).text
    assert "<td>Haul of Ada</td><td>$1.20</td>" in page
    assert '<p data-fragment="1">Fragment</p>' in page
    assert "Join a plan first." in page
    assert page.index("Diamonds by LIVE") < page.index("Commissions by product") < page.index("Plans")


def test_the_earnings_page_pays_out_once_per_form(api: httpx.Client, make_user: Maker, db_run: DbRun) -> None:
    creator = make_user()
    headers = creator["headers"]
    _diamonds(db_run, creator["user"]["id"], 2_500, "g1")
    page = api.get("/studio/earnings", headers=headers).text
    assert "$25.00" in page and "Add a payout method first." in page
    response = api.post("/studio/earnings/payout-method", headers=headers,
                        data={"account_holder": "Ada Lovelace", "account_number": "1234 5678"})
    assert response.status_code == 303 and response.headers["location"] == "/studio/earnings?saved=method"
    page = api.get("/studio/earnings", headers=headers).text
    assert "Ada Lovelace ····5678" in page and "this payout will be held until" in page
    _backdate_method(db_run, creator["user"]["id"])
    page = api.get("/studio/earnings", headers=headers).text
    assert "Pay out $25.00" in page and "will be held" not in page
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert match
    form = {"currency": "USD", "idempotency_key": match.group(1)}
    first = api.post("/studio/earnings/payouts", headers=headers, data=form)
    second = api.post("/studio/earnings/payouts", headers=headers, data=form)  # a double submit
    assert first.status_code == second.status_code == 303
    payout_id = api.get(f"{ME}/payouts", headers=headers).json()["items"][0]["id"]
    assert first.headers["location"] == f"/studio/earnings?payout={payout_id}"
    assert second.headers["location"] == f"/studio/earnings?payout={payout_id}&replayed=1"
    assert _rows(db_run)[2] == 1
    done = api.get(first.headers["location"], headers=headers).text
    assert f"Payout #{payout_id} of $25.00 was sent" in done
    assert 'data-balance="paid_out">$25.00<' in done
    again = api.post("/studio/earnings/payouts", headers=headers,
                     data={"currency": "USD", "idempotency_key": "fresh-key"})
    assert again.status_code == 409 and "There is nothing to pay out in this currency." in again.text


def test_the_ledger_check_shows_what_is_owed_to_creators(api: httpx.Client, make_user: Maker,
                                                         db_run: DbRun) -> None:
    admin, ada, bob = make_user(), make_user(), make_user()

    async def promote(db: AsyncSession) -> None:
        await db.execute(update(User).where(User.id == admin["user"]["id"]).values(is_admin=True))

    db_run(promote)
    _diamonds(db_run, ada["user"]["id"], 700, "g1")
    _diamonds(db_run, bob["user"]["id"], 300, "g2")
    _commission(db_run, bob["user"]["id"], 50, "c1")
    _clawback(db_run, ada["user"]["id"], 900, "r1", currency="JPY")

    async def shop_money(db: AsyncSession) -> None:
        await service.post(db, kind="sale", reference="s1", currency="USD", postings=[
            Posting(platform_account("cash", "USD"), 2_000),
            Posting(service.shop_account(4, "pending", "USD"), -2_000)])

    db_run(shop_money)
    check = api.get("/api/v1/admin/ledger", headers=admin["headers"]).json()
    assert check["liabilities"] == [
        {"currency": "JPY", "owner": "creator", "account": "available", "amount": -900},
        {"currency": "USD", "owner": "creator", "account": "available", "amount": 1_000},
        {"currency": "USD", "owner": "creator", "account": "pending", "amount": 50},
        {"currency": "USD", "owner": "shop", "account": "pending", "amount": 2_000},
    ]
    page = api.get("/admin/ledger", headers=admin["headers"]).text
    assert 'data-owner="creator" data-account="available"' in page and "Creators" in page and "$10.00" in page
