"""Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
``"{webhook-id}.{webhook-timestamp}.{body}"`` with a ``whsec_``-prefixed base64 secret, sent as
``webhook-signature: v1,<base64>`` (space-separated when several keys are in rotation).

Written against the spec with the standard library so that the app does not depend on the
reference package; the tests verify our output with it (docs/payments.md, "Webhooks").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from mercato.payments.provider import (
    WEBHOOK_TOLERANCE_SECONDS,
    WebhookMalformed,
    WebhookSignatureInvalid,
    WebhookTimestampInvalid,
)

SECRET_PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a Standard Webhooks secret is 'whsec_' followed by base64") from exc
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for one message."""
    if "." in msg_id:
        raise ValueError("a webhook id must not contain '.'")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """All three headers of one delivery attempt (the timestamp is the attempt's, not the event's)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp),
            "webhook-signature": sign(secret, msg_id, stamp, body)}


def verify(secret: str, received: Mapping[str, str], body: bytes, *, now: float | None = None,
           tolerance: int = WEBHOOK_TOLERANCE_SECONDS) -> str:
    """Check the signature and the timestamp; return the ``webhook-id``.

    Raises ``WebhookMalformed`` (400) on missing headers, ``WebhookSignatureInvalid`` (401)
    when no ``v1`` signature matches, ``WebhookTimestampInvalid`` (401) when the timestamp is
    more than ``tolerance`` seconds from now.
    """
    lowered = {k.lower(): v for k, v in received.items()}
    msg_id = lowered.get("webhook-id", "").strip()
    stamp = lowered.get("webhook-timestamp", "").strip()
    signatures = lowered.get("webhook-signature", "").strip()
    if not (msg_id and stamp and signatures) or "." in msg_id:
        raise WebhookMalformed("The webhook-id, webhook-timestamp and webhook-signature headers are required.")
    if not stamp.isdigit() or not stamp.isascii():
        raise WebhookMalformed("The webhook-timestamp header must be a Unix time in seconds.")
    timestamp = int(stamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookTimestampInvalid("The webhook timestamp is too far from the current time.")
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1].encode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return msg_id
    raise WebhookSignatureInvalid("The webhook signature does not match.")
