"""The seam between payments and the domains that sell things (orders, coins, …).

Payments never import those domains: they register handlers here at import time and
payments calls them, in the same transaction, when an intent succeeds or fails —
synchronously from ``service.confirm`` or later from a provider webhook. The service
guards every transition, so a handler runs once per transition however often and in
whatever order the provider reports it.

A ``failed`` intent can be confirmed again with another card; handlers must not treat
``failed`` as final.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.payments.models import PaymentIntent

Handler = Callable[[AsyncSession, PaymentIntent], Awaitable[None]]

_succeeded: list[Handler] = []
_failed: list[Handler] = []


def register_succeeded(handler: Handler) -> Handler:
    """Call ``handler(db, intent)`` whenever an intent becomes ``succeeded``. Usable as a decorator."""
    if handler not in _succeeded:
        _succeeded.append(handler)
    return handler


def register_failed(handler: Handler) -> Handler:
    """Call ``handler(db, intent)`` whenever an attempt fails (declined, or refused on the action page)."""
    if handler not in _failed:
        _failed.append(handler)
    return handler


def unregister(handler: Handler) -> None:
    for handlers in (_succeeded, _failed):
        if handler in handlers:
            handlers.remove(handler)


async def dispatch_succeeded(db: AsyncSession, intent: PaymentIntent) -> None:
    for handler in list(_succeeded):
        await handler(db, intent)


async def dispatch_failed(db: AsyncSession, intent: PaymentIntent) -> None:
    for handler in list(_failed):
        await handler(db, intent)
