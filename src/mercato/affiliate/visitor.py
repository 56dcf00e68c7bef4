"""The anonymous visitor token: a random visitor id and its HMAC under the deployment's secret,
so a shopper who is not signed in can carry touchpoints to their sign-up or log-in.

The token is tamper-evident, not secret: an altered id or a forged signature fails
:func:`verify` and is ignored (no touchpoint is recorded or attached for it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from mercato.config import Settings
from mercato.kit.secrets import keys_of

COOKIE = "mercato_visitor"
_PURPOSE = b"mercato-affiliate-visitor:"


def _key(settings: Settings) -> bytes:
    # Derived, so the Fernet key itself never signs anything seen by a browser.
    return hashlib.sha256(_PURPOSE + keys_of(settings)[0]).digest()


def sign(visitor_id: str, settings: Settings) -> str:
    mac = hmac.new(_key(settings), visitor_id.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{visitor_id}.{mac}"


def verify(token: str | None, settings: Settings) -> str | None:
    """The visitor id of a genuine token, else ``None``."""
    if not token or token.count(".") != 1:
        return None
    visitor_id, mac = token.split(".")
    if len(visitor_id) != 32 or not all(c in "0123456789abcdef" for c in visitor_id):
        return None
    expected = sign(visitor_id, settings).split(".")[1]
    return visitor_id if hmac.compare_digest(mac, expected) else None


def new_visitor_id() -> str:
    return secrets.token_hex(16)
