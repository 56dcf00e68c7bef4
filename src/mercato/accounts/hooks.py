"""The seams through which accounts tell higher domains about people, without importing them.

* **Ranking inputs changed** (a block or an unblock): the feed registers a handler that drops
  the people's cached candidate lists (``feed/wiring.py:install``, at app start).
* **Signed in**: after a sign-up or a log-in (API or web), handlers get the request's cookies,
  so the affiliate domain attaches an anonymous visitor's touchpoints to the user.
* **Page sections**: the account page (``/me``) and the profile page (``/@handle``) show what
  other domains hold about the person (their shops, their videos); those domains register a
  function returning template context, so accounts stay the lowest domain.

Handlers run in the caller's unit of work, in registration order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.models import User

#: ``handler(db, user_id)``: synchronous, it must not touch the database.
RankingInputsHandler = Callable[[AsyncSession, int], None]
#: ``section(db, viewer, person)`` → context for the profile page.
ProfileSection = Callable[[AsyncSession, User | None, User], Awaitable[dict[str, Any]]]
#: ``section(db, user)`` → context for the signed-in user's account page.
AccountSection = Callable[[AsyncSession, User], Awaitable[dict[str, Any]]]

#: ``handler(db, user, cookies)`` after a sign-up or log-in, in its unit of work.
SignedInHandler = Callable[[AsyncSession, User, Mapping[str, str]], Awaitable[None]]

_ranking_inputs: list[RankingInputsHandler] = []
_signed_in: list[SignedInHandler] = []


def register_signed_in(handler: SignedInHandler) -> SignedInHandler:
    if handler not in _signed_in:
        _signed_in.append(handler)
    return handler


async def signed_in(db: AsyncSession, user: User, cookies: Mapping[str, str]) -> None:
    for handler in list(_signed_in):
        await handler(db, user, cookies)
_profile_sections: list[ProfileSection] = []
_account_sections: list[AccountSection] = []


def register_ranking_inputs_changed(handler: RankingInputsHandler) -> RankingInputsHandler:
    if handler not in _ranking_inputs:
        _ranking_inputs.append(handler)
    return handler


def register_profile_section(section: ProfileSection) -> ProfileSection:
    if section not in _profile_sections:
        _profile_sections.append(section)
    return section


def register_account_section(section: AccountSection) -> AccountSection:
    if section not in _account_sections:
        _account_sections.append(section)
    return section


def ranking_inputs_changed(db: AsyncSession, user_id: int) -> None:
    for handler in list(_ranking_inputs):
        handler(db, user_id)


async def profile_context(db: AsyncSession, viewer: User | None, person: User) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for section in list(_profile_sections):
        context.update(await section(db, viewer, person))
    return context


async def account_context(db: AsyncSession, user: User) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for section in list(_account_sections):
        context.update(await section(db, user))
    return context
