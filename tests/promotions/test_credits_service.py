"""Shopping credits' service against the real database: grants (idempotent, refused inputs change
nothing), the balance is the ledger's, the history pages through the ledger entries."""

from __future__ import annotations

from typing import Any

import pytest

from mercato.kit.errors import AppError
from mercato.ledger import service as ledger
from mercato.promotions import credits
from tests.promotions.conftest import DbRun, Seed


def grant(db_run: DbRun, user_id: int, amount: Any, reference: str, currency: str = "USD",
          reason: str = "Welcome credits") -> Any:
    return db_run(lambda s: credits.grant(s, user_id=user_id, amount=amount, currency=currency, reason=reason,
                                          reference=reference))


def balance(db_run: DbRun, user_id: int, currency: str = "USD") -> int:
    result: int = db_run(lambda s: credits.balance(s, user_id, currency))
    return result


def test_grant_posts_platform_funded_credits_once(seed: Seed, db_run: DbRun) -> None:
    user = seed.user()
    first = grant(db_run, user, 500, "welcome:1")
    again = grant(db_run, user, 500, "welcome:1")
    assert first is not None and first.kind == credits.GRANT_KIND and first.memo == "Welcome credits"
    assert again is None
    assert balance(db_run, user) == 500
    assert db_run(lambda s: ledger.balance(s, "platform:promotions:USD")) == 500
    assert db_run(lambda s: ledger.trial_balance(s)) == {"USD": 0}
    grant(db_run, user, 250, "welcome:2")
    assert balance(db_run, user) == 750
    assert balance(db_run, user, "JPY") == 0


@pytest.mark.parametrize(("amount", "reason", "currency", "code"), [
    (0, "r", "USD", "credits_amount_invalid"),
    (-5, "r", "USD", "credits_amount_invalid"),
    (1.5, "r", "USD", "credits_amount_invalid"),
    (100, "  ", "USD", "credits_reason_required"),
    (100, "r", "XXX", "wrong_currency"),
])
def test_refused_grants_change_nothing(seed: Seed, db_run: DbRun, amount: Any, reason: str, currency: str,
                                       code: str) -> None:
    user = seed.user()
    with pytest.raises(AppError) as info:
        grant(db_run, user, amount, "bad", currency=currency, reason=reason)
    assert (info.value.status, info.value.code) == (422, code)
    assert balance(db_run, user) == 0
    assert db_run(lambda s: ledger.counts(s))["transactions"] == 0


def test_history_pages_newest_first(seed: Seed, db_run: DbRun) -> None:
    user, other = seed.user(), seed.user()
    for n in range(1, 4):
        grant(db_run, user, n * 100, f"g:{n}", reason=f"Grant {n}")
    grant(db_run, user, 700, "g:jpy", currency="JPY", reason="Yen")
    grant(db_run, other, 999, "g:other")
    page = db_run(lambda s: credits.history(s, user, limit=3))
    assert [(line.amount, line.currency, line.memo) for line in page.items] == [
        (700, "JPY", "Yen"), (300, "USD", "Grant 3"), (200, "USD", "Grant 2")]
    assert page.next_cursor is not None
    rest = db_run(lambda s: credits.history(s, user, page.next_cursor, limit=3))
    assert [(line.amount, line.kind) for line in rest.items] == [(100, credits.GRANT_KIND)]
    assert rest.next_cursor is None
    assert db_run(lambda s: credits.history(s, seed.user())).items == []
