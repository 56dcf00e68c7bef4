"""Jobs of payments: the sandbox provider delivering its webhooks.

``deliver_sandbox_webhooks`` plays the provider's side: it POSTs each due event to
``{public_base_url}/api/v1/webhooks/sandbox``, signed per Standard Webhooks, with a
``webhook-id`` that never changes between retries. A ``2xx`` marks the event sent; anything
else (or no answer) is retried with back-off. It commits as it goes — the sandbox's own
state, like ``sandbox.py`` — because the receiver is usually this very app and on SQLite a
transaction held across the HTTP call would lock the receiver out.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit import jobs
from mercato.kit.db import utcnow
from mercato.payments import repository as repo
from mercato.payments import sandbox, standard_webhooks

log = logging.getLogger("mercato.payments")

MIN_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=3)
BATCH = 20


def next_try(now: datetime, created_at: datetime) -> datetime | None:
    """When to try again after this attempt: the delay grows with the event's age (so roughly
    doubles per failure), between 5 s and 1 h; after three days the sandbox gives up (``None``)."""
    age = now - created_at
    if age > GIVE_UP_AFTER:
        return None
    return now + min(max(age, MIN_RETRY), MAX_RETRY)


@jobs.job("deliver_sandbox_webhooks", 1)
async def deliver_sandbox_webhooks(db: AsyncSession, settings: Settings) -> int:
    """Send the sandbox's due webhooks; returns how many were accepted (2xx)."""
    now = utcnow()
    leased = []
    for charge in await repo.due_sandbox_webhooks(db, now, BATCH):
        if await repo.lease_sandbox_webhook(db, charge, next_try(now, charge.created_at)):
            leased.append(charge)
    await db.commit()
    if not leased:
        return 0
    url = f"{settings.public_base_url.rstrip('/')}{sandbox.WEBHOOK_PATH}"
    delivered = 0
    async with httpx.AsyncClient(timeout=10) as client:
        for charge in leased:
            msg_id, body = sandbox.webhook_message(charge)
            headers = standard_webhooks.headers(settings.sandbox_webhook_secret, msg_id, body)
            try:
                response = await client.post(url, content=body,
                                             headers={**headers, "content-type": "application/json"})
            except httpx.HTTPError as exc:
                log.warning("sandbox webhook %s to %s failed: %s", msg_id, url, type(exc).__name__)
                continue
            if not response.is_success:
                log.warning("sandbox webhook %s to %s answered %d", msg_id, url, response.status_code)
                continue
            await repo.mark_sandbox_webhook_sent(db, charge.id, utcnow())
            await db.commit()
            delivered += 1
    return delivered
