"""R7 — sandbox webhooks both ways: signed per Standard Webhooks (checked with the reference
``standardwebhooks`` package), delivered by the job with retries and a stable id, and received
with exactly one effect however often and in whatever order they arrive."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.payments import sandbox, standard_webhooks
from mercato.payments.models import SandboxCharge
from mercato.payments.provider import WebhookMalformed, WebhookSignatureInvalid, WebhookTimestampInvalid
from mercato.payments.tasks import deliver_sandbox_webhooks
from tests.harness import LiveServer
from tests.payments.conftest import (
    REQUIRES_ACTION,
    Buyer,
    DbRun,
    HookCalls,
    card_body,
    event_types,
    inbox_count,
    intent_row,
    key,
    sandbox_charges,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "data" / "webhooks" / "standard-webhooks" / "vectors.json"
WEBHOOK_URL = "/api/v1/webhooks/sandbox"


# --- the signer against the spec's known answer ----------------------------------------------


def test_known_answer_vector() -> None:
    vector = json.loads(VECTORS.read_text())
    payload = vector["payload"].encode()
    signature = standard_webhooks.sign(vector["secret"], vector["msg_id"], vector["timestamp"], payload)
    assert signature == vector["expected_signature"]
    reference = Webhook(vector["secret"]).sign(vector["msg_id"], datetime.fromtimestamp(vector["timestamp"], UTC),
                                               vector["payload"])
    assert reference == signature
    headers = {"webhook-id": vector["msg_id"], "webhook-timestamp": str(vector["timestamp"]),
               "webhook-signature": signature}
    assert standard_webhooks.verify(vector["secret"], headers, payload, now=vector["timestamp"]) == vector["msg_id"]
    # several signatures (key rotation): one good one is enough
    rotated = {**headers, "webhook-signature": f"{vector['negative_examples']['malformed']} {signature}"}
    assert standard_webhooks.verify(vector["secret"], rotated, payload, now=vector["timestamp"])
    for bad in vector["negative_examples"].values():
        with pytest.raises(WebhookSignatureInvalid):
            standard_webhooks.verify(vector["secret"], {**headers, "webhook-signature": bad}, payload,
                                     now=vector["timestamp"])
    with pytest.raises(WebhookTimestampInvalid):
        standard_webhooks.verify(vector["secret"], headers, payload,
                                 now=vector["timestamp"] + vector["tolerance_seconds"] + 1)
    with pytest.raises(WebhookMalformed):
        standard_webhooks.verify(vector["secret"], {"webhook-id": vector["msg_id"]}, payload)


# --- receiving -------------------------------------------------------------------------------


def _awaiting_intent(api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int], db_run: DbRun,
                     settings: Settings) -> tuple[int, SandboxCharge]:
    """An intent in requires_action whose sandbox charge was approved (webhook due, not yet sent)."""
    intent_id = make_intent(buyer.user_id, amount=3100)
    response = api.post(f"/api/v1/payments/{intent_id}/confirm", headers={**buyer.headers, **key()},
                        json=card_body(REQUIRES_ACTION))
    assert response.json()["status"] == "requires_action", response.text
    [charge] = sandbox_charges(db_run)
    assert charge.action_token

    async def approve(session: AsyncSession) -> SandboxCharge:
        row = await sandbox.resolve_action(session, charge.action_token or "", approve=True, settings=settings)
        assert row is not None
        return row

    return intent_id, db_run(approve)


def _signed(settings: Settings, msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    headers = standard_webhooks.headers(settings.sandbox_webhook_secret, msg_id, body, timestamp=timestamp)
    return {**headers, "content-type": "application/json"}


def test_one_event_delivered_three_times_has_one_effect(api: httpx.Client, buyer: Buyer,
                                                        make_intent: Callable[..., int], hook_calls: HookCalls,
                                                        db_run: DbRun, settings: Settings) -> None:
    intent_id, charge = _awaiting_intent(api, buyer, make_intent, db_run, settings)
    msg_id, body = sandbox.webhook_message(charge)
    headers = _signed(settings, msg_id, body)
    # the reference library accepts what we sign
    verified = Webhook(settings.sandbox_webhook_secret).verify(body, headers)
    assert verified["type"] == "charge.succeeded" and verified["data"]["charge"] == f"sbx_ch_{charge.id}"

    answers = [api.post(WEBHOOK_URL, content=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200], answers[0].text
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    assert inbox_count(db_run) == 1
    assert hook_calls.succeeded == [intent_id] and hook_calls.failed == []
    intent = intent_row(db_run, intent_id)
    assert (intent.status, intent.next_action, intent.provider_ref) == ("succeeded", None, f"sbx_ch_{charge.id}")
    assert event_types(db_run, intent_id) == ["created", "attempted", "requires_action", "webhook_received",
                                              "succeeded"]


@pytest.mark.parametrize("order", ["AAAB", "BAAB", "BBAA", "ABAB"])
def test_two_events_in_any_order_have_one_effect(api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int],
                                                 hook_calls: HookCalls, db_run: DbRun, settings: Settings,
                                                 order: str) -> None:
    """The provider may announce the same outcome twice under different ids, and redeliver each."""
    intent_id, charge = _awaiting_intent(api, buyer, make_intent, db_run, settings)
    msg_a, body = sandbox.webhook_message(charge)
    messages = {"A": msg_a, "B": f"{msg_a}_again"}
    for letter in order:
        response = api.post(WEBHOOK_URL, content=body, headers=_signed(settings, messages[letter], body))
        assert response.status_code == 200, response.text
    assert inbox_count(db_run) == 2
    assert hook_calls.succeeded == [intent_id]
    assert event_types(db_run, intent_id).count("succeeded") == 1
    assert event_types(db_run, intent_id).count("webhook_received") == 2
    assert intent_row(db_run, intent_id).status == "succeeded"


def test_declined_action_fails_the_intent_once(api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int],
                                               hook_calls: HookCalls, db_run: DbRun, settings: Settings) -> None:
    intent_id = make_intent(buyer.user_id)
    api.post(f"/api/v1/payments/{intent_id}/confirm", headers={**buyer.headers, **key()},
             json=card_body(REQUIRES_ACTION))
    [charge] = sandbox_charges(db_run)
    declined = db_run(lambda s: sandbox.resolve_action(s, charge.action_token or "", approve=False,
                                                       settings=settings))
    msg_id, body = sandbox.webhook_message(declined)
    for _ in range(2):
        assert api.post(WEBHOOK_URL, content=body, headers=_signed(settings, msg_id, body)).status_code == 200
    intent = intent_row(db_run, intent_id)
    assert (intent.status, intent.last_error_code) == ("failed", "authentication_failed")
    assert hook_calls.failed == [intent_id] and hook_calls.succeeded == []
    # failed is not final: another card can pay it
    paid = api.post(f"/api/v1/payments/{intent_id}/confirm", headers={**buyer.headers, **key()}, json=card_body())
    assert paid.json()["status"] == "succeeded" and paid.json()["attempts"] == 2


def test_bad_signature_and_old_timestamp_are_refused_without_effect(
    api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int], hook_calls: HookCalls, db_run: DbRun,
    settings: Settings,
) -> None:
    intent_id, charge = _awaiting_intent(api, buyer, make_intent, db_run, settings)
    msg_id, body = sandbox.webhook_message(charge)
    good = _signed(settings, msg_id, body)
    other_secret = "whsec_" + "c29tZS1vdGhlci1zZWNyZXQtdGhhdC1pcy1sb25n"
    cases = [
        ({**good, "webhook-signature": standard_webhooks.sign(other_secret, msg_id, int(time.time()), body)}, body,
         401, "invalid_webhook_signature"),
        (good, body.replace(b"succeeded", b"succeedeD"), 401, "invalid_webhook_signature"),  # tampered body
        ({**good, "webhook-id": msg_id + "x"}, body, 401, "invalid_webhook_signature"),  # id is signed too
        (_signed(settings, msg_id, body, timestamp=int(time.time()) - 6 * 60), body, 401,
         "webhook_timestamp_out_of_range"),
        (_signed(settings, msg_id, body, timestamp=int(time.time()) + 6 * 60), body, 401,
         "webhook_timestamp_out_of_range"),
        ({"content-type": "application/json"}, body, 400, "invalid_webhook"),
    ]
    for headers, content, status, code in cases:
        response = api.post(WEBHOOK_URL, content=content, headers=headers)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
    # the reference library agrees about the old one
    with pytest.raises(WebhookVerificationError):
        Webhook(settings.sandbox_webhook_secret).verify(body, _signed(settings, msg_id, body,
                                                                      timestamp=int(time.time()) - 6 * 60))
    assert inbox_count(db_run) == 0
    assert hook_calls.succeeded == []
    assert intent_row(db_run, intent_id).status == "requires_action"
    # …and the genuine delivery still works afterwards
    assert api.post(WEBHOOK_URL, content=body, headers=good).json() == {"received": True, "duplicate": False}


def test_unknown_charge_is_recorded_and_acknowledged(api: httpx.Client, db_run: DbRun, settings: Settings,
                                                     clean_db: str) -> None:
    body = json.dumps({"type": "charge.succeeded", "timestamp": "2026-01-01T00:00:00Z",
                       "data": {"charge": "sbx_ch_424242", "reference": "pi_99999"}}).encode()
    response = api.post(WEBHOOK_URL, content=body, headers=_signed(settings, "msg_unknown", body))
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    assert inbox_count(db_run) == 1


def test_stripe_endpoint_without_a_secret_is_unavailable(api: httpx.Client, db_run: DbRun) -> None:
    response = api.post("/api/v1/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "webhooks_not_configured"
    assert inbox_count(db_run, "stripe") == 0


# --- sending: the delivery job ---------------------------------------------------------------


def run_delivery(clean_db: str, settings: Settings) -> int:
    async def go() -> int:
        database = Database(clean_db, pool=False)
        try:
            async with database.unit_of_work() as session:
                return await deliver_sandbox_webhooks(session, settings)
        finally:
            await database.dispose()

    return asyncio.run(go())


def make_due_now(db_run: DbRun) -> None:
    async def go(session: AsyncSession) -> None:
        await session.execute(update(SandboxCharge).where(SandboxCharge.webhook_sent_at.is_(None),
                                                          SandboxCharge.webhook_due_at.is_not(None))
                              .values(webhook_due_at=datetime.now(UTC) - timedelta(seconds=1)))

    db_run(go)


def test_delivery_is_retried_with_back_off_under_a_stable_id(api: httpx.Client, buyer: Buyer,
                                                             make_intent: Callable[..., int], db_run: DbRun,
                                                             settings: Settings, clean_db: str) -> None:
    """A receiver built on the reference library: the first attempt fails (503), the retry is
    accepted; both carry the same webhook-id and body and verify."""
    received: list[dict[str, Any]] = []

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        payload = Webhook(settings.sandbox_webhook_secret).verify(body, dict(request.headers))
        received.append({"id": request.headers["webhook-id"], "body": body, "type": payload["type"]})
        return Response(status_code=503 if len(received) == 1 else 204)

    receiver = LiveServer(Starlette(routes=[Route(WEBHOOK_URL, endpoint, methods=["POST"])]))
    receiver.start()
    try:
        _intent_id, charge = _awaiting_intent(api, buyer, make_intent, db_run, settings)
        target = settings.model_copy(update={"public_base_url": receiver.url})
        make_due_now(db_run)
        assert run_delivery(clean_db, target) == 0  # 503
        [row] = sandbox_charges(db_run)
        assert row.webhook_sent_at is None and row.webhook_due_at is not None
        assert row.webhook_due_at >= datetime.now(UTC) + timedelta(seconds=3)  # backed off
        assert run_delivery(clean_db, target) == 0  # not due yet: nothing sent
        make_due_now(db_run)
        assert run_delivery(clean_db, target) == 1
        [row] = sandbox_charges(db_run)
        assert row.webhook_sent_at is not None
        make_due_now(db_run)
        assert run_delivery(clean_db, target) == 0  # sent means done
    finally:
        receiver.stop()
    assert [r["id"] for r in received] == [f"msg_sbx_{charge.id}_succeeded"] * 2
    assert received[0]["body"] == received[1]["body"]
    assert {r["type"] for r in received} == {"charge.succeeded"}


def test_unreachable_receiver_is_retried_later(api: httpx.Client, buyer: Buyer, make_intent: Callable[..., int],
                                               db_run: DbRun, settings: Settings, clean_db: str) -> None:
    _awaiting_intent(api, buyer, make_intent, db_run, settings)
    make_due_now(db_run)
    closed = settings.model_copy(update={"public_base_url": "http://127.0.0.1:9"})
    assert run_delivery(clean_db, closed) == 0
    [row] = sandbox_charges(db_run)
    assert row.webhook_sent_at is None and row.webhook_due_at is not None
    assert row.webhook_due_at > datetime.now(UTC)


def test_requires_action_end_to_end_over_http(api: httpx.Client, live_server: LiveServer, buyer: Buyer,
                                              make_intent: Callable[..., int], hook_calls: HookCalls,
                                              db_run: DbRun, settings: Settings, clean_db: str) -> None:
    intent_id = make_intent(buyer.user_id, amount=5400)
    confirmed = api.post(f"/api/v1/payments/{intent_id}/confirm", headers={**buyer.headers, **key()},
                         json=card_body(REQUIRES_ACTION))
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "requires_action"
    action_url = confirmed.json()["next_action"]["url"]

    page = api.get(action_url)
    assert page.status_code == 200
    assert "Approve" in page.text and "Decline" in page.text and "$54.00" in page.text
    assert "<script>" not in page.text and "onclick" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    csrf = api.cookies.get("mercato_csrf")
    assert csrf and f'value="{csrf}"' in page.text

    with httpx.Client(base_url=live_server.url) as stranger:  # no CSRF cookie
        forged = stranger.post(action_url, data={"decision": "approve", "csrf_token": csrf})
    assert forged.status_code == 403
    approved = api.post(action_url, data={"decision": "approve", "csrf_token": csrf})
    assert approved.status_code == 303 and approved.headers["location"] == action_url
    assert "Approved" in api.get(action_url).text
    assert api.get(f"/api/v1/payments/{intent_id}", headers=buyer.headers).json()["status"] == "requires_action"

    [scheduled] = sandbox_charges(db_run)
    assert scheduled.webhook_due_at is not None and scheduled.webhook_sent_at is None
    assert scheduled.webhook_due_at <= datetime.now(UTC) + timedelta(seconds=settings.sandbox_webhook_delay_seconds)

    target = settings.model_copy(update={"public_base_url": live_server.url})
    deadline = time.monotonic() + settings.sandbox_webhook_delay_seconds + 15
    while time.monotonic() < deadline:
        run_delivery(clean_db, target)
        if api.get(f"/api/v1/payments/{intent_id}", headers=buyer.headers).json()["status"] == "succeeded":
            break
        if time.monotonic() > deadline - 10:
            make_due_now(db_run)  # another job runner may have leased it and backed off: don't wait for that
        time.sleep(0.2)
    assert sandbox_charges(db_run)[0].webhook_sent_at is not None
    paid = api.get(f"/api/v1/payments/{intent_id}", headers=buyer.headers).json()
    assert (paid["status"], paid["next_action"], paid["attempts"]) == ("succeeded", None, 1)
    assert hook_calls.succeeded == [intent_id]
    assert run_delivery(clean_db, target) == 0
    # a provider-side redelivery changes nothing
    [charge] = sandbox_charges(db_run)
    msg_id, body = sandbox.webhook_message(charge)
    again = api.post(WEBHOOK_URL, content=body, headers=_signed(settings, msg_id, body))
    assert again.json() == {"received": True, "duplicate": True}
    assert hook_calls.succeeded == [intent_id] and inbox_count(db_run) == 1
    assert event_types(db_run, intent_id).count("succeeded") == 1
