"""Confirming a payment over HTTP: outcomes per test card, 402 declines, validation, ownership, R5."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mercato.payments.service import idempotency_key_for
from tests.harness import LiveServer
from tests.payments.conftest import (
    DECLINED,
    INSUFFICIENT,
    REQUIRES_ACTION,
    SUCCESS,
    Buyer,
    DbRun,
    HookCalls,
    card_body,
    event_types,
    intent_row,
    key,
    sandbox_charges,
)

INTENT_KEYS = {"id", "checkout_id", "status", "amount", "currency", "refunded", "provider", "attempts", "card_brand",
               "card_last4", "next_action", "last_error_code", "last_error_message"}


def confirm(api: httpx.Client, buyer: Buyer, intent_id: int, number: str = SUCCESS,
            headers: dict[str, str] | None = None, **overrides: Any) -> httpx.Response:
    return api.post(f"/api/v1/payments/{intent_id}/confirm", headers={**buyer.headers, **(headers or key())},
                    json=card_body(number, **overrides))


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body


def test_success_card_pays_once_and_logs_events(api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int],
                                                hook_calls: HookCalls, db_run: DbRun) -> None:
    intent_id = make_intent(buyer.user_id, amount=2500)
    response = confirm(api, buyer, intent_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == INTENT_KEYS
    assert {k: body[k] for k in ("id", "status", "amount", "currency", "refunded", "provider", "attempts",
                                 "card_brand", "card_last4", "next_action", "last_error_code")} == {
        "id": intent_id, "status": "succeeded", "amount": 2500, "currency": "USD", "refunded": 0,
        "provider": "sandbox", "attempts": 1, "card_brand": "visa", "card_last4": "4242", "next_action": None,
        "last_error_code": None}
    assert hook_calls.succeeded == [intent_id] and hook_calls.failed == []
    charges = sandbox_charges(db_run)
    assert [(c.idempotency_key, c.amount, c.status) for c in charges] == [
        (idempotency_key_for(intent_id, 1), 2500, "succeeded")]
    assert event_types(db_run, intent_id) == ["created", "attempted", "succeeded"]
    assert api.get(f"/api/v1/payments/{intent_id}", headers=buyer.headers).json() == body

    again = confirm(api, buyer, intent_id)
    assert_error(again, 409, "payment_not_confirmable")
    assert len(sandbox_charges(db_run)) == 1 and hook_calls.succeeded == [intent_id]


@pytest.mark.parametrize(("number", "code"), [(DECLINED, "card_declined"), (INSUFFICIENT, "insufficient_funds")])
def test_declines_answer_402_and_another_card_can_follow(
    api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int], hook_calls: HookCalls, db_run: DbRun,
    number: str, code: str,
) -> None:
    intent_id = make_intent(buyer.user_id)
    headers = key()
    declined = confirm(api, buyer, intent_id, number, headers=headers)
    body = assert_error(declined, 402, code)
    assert body["error"]["details"] == {"payment_intent_id": intent_id}
    assert body["error"]["message"]
    replay = confirm(api, buyer, intent_id, number, headers=headers)
    assert replay.status_code == 402 and replay.json() == body and replay.headers["Idempotent-Replayed"] == "true"

    intent = intent_row(db_run, intent_id)
    assert (intent.status, intent.attempts, intent.last_error_code, intent.card_last4) == (
        "failed", 1, code, number[-4:])
    assert hook_calls.failed == [intent_id] and hook_calls.succeeded == []

    paid = confirm(api, buyer, intent_id, SUCCESS)
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["attempts"], paid.json()["last_error_code"]) == ("succeeded", 2, None)
    assert [c.idempotency_key for c in sandbox_charges(db_run)] == [
        idempotency_key_for(intent_id, 1), idempotency_key_for(intent_id, 2)]
    assert event_types(db_run, intent_id) == ["created", "attempted", "declined", "attempted", "succeeded"]
    assert hook_calls.succeeded == [intent_id]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"card_number": "4242 4242 4242 4241"}, "card_number"),
    ({"exp_year": 2021}, "exp_year"),
    ({"cvc": "12"}, "cvc"),
])
def test_invalid_card_is_422_with_the_field_and_changes_nothing(
    api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int], db_run: DbRun, overrides: dict[str, Any],
    field: str,
) -> None:
    intent_id = make_intent(buyer.user_id)
    headers = key()
    body = assert_error(api.post(f"/api/v1/payments/{intent_id}/confirm", headers={**buyer.headers, **headers},
                                 json={**card_body(), **overrides}), 422, "invalid_card")
    assert body["error"]["details"] == {"field": field}
    intent = intent_row(db_run, intent_id)
    assert (intent.status, intent.attempts) == ("requires_payment_method", 0)
    assert sandbox_charges(db_run) == [] and event_types(db_run, intent_id) == ["created"]
    # The failed request left no key behind: the corrected card goes through under the same key.
    fixed = api.post(f"/api/v1/payments/{intent_id}/confirm", headers={**buyer.headers, **headers}, json=card_body())
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["attempts"] == 1


def test_schema_validation_is_422(api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int]) -> None:
    intent_id = make_intent(buyer.user_id)
    response = api.post(f"/api/v1/payments/{intent_id}/confirm", headers={**buyer.headers, **key()},
                        json={**card_body(), "exp_month": 13})
    body = assert_error(response, 422, "validation_error")
    assert body["error"]["details"][0]["field"] == "exp_month"


def test_only_the_buyer_sees_or_pays_the_intent(api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int],
                                                make_user: Callable[..., dict[str, Any]], db_run: DbRun) -> None:
    intent_id = make_intent(buyer.user_id)
    stranger = make_user()
    assert_error(api.get(f"/api/v1/payments/{intent_id}", headers=stranger["headers"]), 404, "not_found")
    assert_error(api.post(f"/api/v1/payments/{intent_id}/confirm", headers={**stranger["headers"], **key()},
                          json=card_body()), 404, "not_found")
    assert_error(api.post(f"/api/v1/payments/{intent_id}/confirm", json=card_body()), 401, "not_authenticated")
    assert_error(api.get("/api/v1/payments/999999", headers=buyer.headers), 404, "not_found")
    assert_error(api.get(f"/api/v1/payments/{10**20}", headers=buyer.headers), 422, "validation_error")
    assert sandbox_charges(db_run) == []
    assert intent_row(db_run, intent_id).attempts == 0


def test_same_key_and_card_change_is_refused(api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int],
                                            db_run: DbRun) -> None:
    intent_id = make_intent(buyer.user_id)
    headers = key()
    first = confirm(api, buyer, intent_id, SUCCESS, headers=headers)
    assert first.status_code == 200
    other = confirm(api, buyer, intent_id, "5555 5555 5555 4444", headers=headers)
    assert_error(other, 422, "idempotency_key_reused")
    assert len(sandbox_charges(db_run)) == 1


def test_r5_ten_concurrent_confirms_with_one_key(live_server: LiveServer, buyer: Buyer,
                                                 make_intent: Callable[..., int], hook_calls: HookCalls,
                                                 db_run: DbRun) -> None:
    intent_id = make_intent(buyer.user_id, amount=4200)
    headers = {**buyer.headers, **key()}

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
            return list(await asyncio.gather(*[
                client.post(f"/api/v1/payments/{intent_id}/confirm", headers=headers, json=card_body())
                for _ in range(10)]))

    responses = asyncio.run(burst())
    ok = [r for r in responses if r.status_code == 200]
    busy = [r for r in responses if r.status_code == 409]
    assert len(ok) + len(busy) == 10, [r.text for r in responses]
    assert ok, "at least the first request succeeds"
    assert all(r.json() == ok[0].json() for r in ok)
    assert all(r.json()["error"]["code"] == "idempotency_in_progress" for r in busy)
    assert ok[0].json()["status"] == "succeeded"

    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        replay = client.post(f"/api/v1/payments/{intent_id}/confirm", headers=headers, json=card_body())
        assert replay.status_code == 200 and replay.json() == ok[0].json()
        changed = client.post(f"/api/v1/payments/{intent_id}/confirm", headers=headers,
                              json=card_body("5555 5555 5555 4444"))
        assert_error(changed, 422, "idempotency_key_reused")

    assert [c.idempotency_key for c in sandbox_charges(db_run)] == [idempotency_key_for(intent_id, 1)]
    assert intent_row(db_run, intent_id).attempts == 1
    assert hook_calls.succeeded == [intent_id]


def test_requires_action_answers_next_action(api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int],
                                             db_run: DbRun, hook_calls: HookCalls) -> None:
    intent_id = make_intent(buyer.user_id)
    response = confirm(api, buyer, intent_id, REQUIRES_ACTION)
    assert response.status_code == 200, response.text
    body = response.json()
    [charge] = sandbox_charges(db_run)
    assert body["status"] == "requires_action"
    assert body["next_action"] == {"type": "redirect", "url": f"/sandbox/actions/{charge.action_token}"}
    assert hook_calls.succeeded == [] and hook_calls.failed == []
    assert_error(confirm(api, buyer, intent_id, SUCCESS), 409, "payment_not_confirmable")


def test_routes_are_documented(api: httpx.Client) -> None:
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/payments/{intent_id}/confirm", "/api/v1/payments/{intent_id}", "/api/v1/webhooks/sandbox",
            "/api/v1/webhooks/stripe"} <= set(paths)
    assert "402" in paths["/api/v1/payments/{intent_id}/confirm"]["post"]["responses"]
    assert not any(p.startswith("/sandbox/") for p in paths)
