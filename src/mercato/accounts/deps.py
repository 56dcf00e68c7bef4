"""Who is calling: session token from the ``Authorization: Bearer`` header or the cookie.

A cookie-authenticated unsafe request must also carry the CSRF token (double
submit: the ``mercato_csrf`` cookie echoed in ``X-CSRF-Token`` or a form field).
Bearer-token clients are not exposed to CSRF and need no such header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository, service
from mercato.accounts.errors import AccountsError
from mercato.accounts.models import User
from mercato.config import Settings
from mercato.kit import openapi
from mercato.kit.errors import Forbidden, Unauthorized
from mercato.kit.http import SAFE_METHODS, DbSession, get_database
from mercato.kit.ratelimit import RATE_LIMITED, RULES, rate_limiter
from mercato.kit.security import token_digest
from mercato.web.csrf import CSRF_COOKIE as CSRF_COOKIE
from mercato.web.csrf import CSRF_FIELD as CSRF_FIELD
from mercato.web.csrf import CSRF_HEADER as CSRF_HEADER
from mercato.web.csrf import csrf_ok as csrf_ok

SESSION_COOKIE = "mercato_session"


@dataclass
class Caller:
    user: User
    token: str
    via_cookie: bool


def token_from(request: Request) -> tuple[str | None, bool]:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


async def optional_caller(request: Request, db: DbSession) -> Caller | None:
    token, via_cookie = token_from(request)
    if not token:
        return None
    found = await service.resolve_token(db, token)
    if found is None:
        if not via_cookie:
            raise Unauthorized("Your session has ended. Log in again.", code=AccountsError.INVALID_SESSION)
        return None
    if via_cookie and request.method not in SAFE_METHODS and not await csrf_ok(request):
        raise Forbidden("The form expired. Reload the page and try again.", code=AccountsError.CSRF_FAILED)
    return Caller(user=found, token=token, via_cookie=via_cookie)


async def required_caller(caller: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    if caller is None:
        raise Unauthorized("Log in to continue.", code=AccountsError.NOT_AUTHENTICATED)
    return caller


async def optional_user(caller: Annotated[Caller | None, Depends(optional_caller)]) -> User | None:
    return caller.user if caller else None


async def required_user(caller: Annotated[Caller, Depends(required_caller)]) -> User:
    return caller.user


async def admin_user(user: Annotated[User, Depends(required_user)]) -> User:
    if not user.is_admin:
        raise Forbidden("Operators only.", code=AccountsError.ADMIN_ONLY)
    return user


@dataclass(frozen=True)
class Reader:
    """Who is reading, for the hottest read-only routes (the For You feed): the user's id and
    sign-up time only, looked up without the ORM or a unit of work."""

    id: int
    created_at: datetime


async def optional_reader(request: Request) -> Reader | None:
    """:func:`optional_caller` for safe methods, on the database's fast read path: the same
    answers (a bad bearer token is ``401 invalid_session``, a bad cookie is anonymous), no
    ``User`` row. Only for GET routes that never write in the request."""
    token, via_cookie = token_from(request)
    if not token or len(token) > 200:
        if token and not via_cookie:
            raise Unauthorized("Your session has ended. Log in again.", code=AccountsError.INVALID_SESSION)
        return None
    found = await repository.session_user(get_database(request).committed_reads, token_digest(token), datetime.now(UTC))
    if found is None:
        if not via_cookie:
            raise Unauthorized("Your session has ended. Log in again.", code=AccountsError.INVALID_SESSION)
        return None
    return Reader(id=found[0], created_at=found[1])


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The request's unit of work, its signed-in user and the settings."""

    db: AsyncSession
    user: User
    settings: Settings


async def signed_in(request: Request) -> AsyncIterator[SignedIn]:
    """``DbSession`` + ``CurrentUser`` + ``AppSettings`` as one dependency, for the hottest write
    routes (cart add, checkout, pay): the same unit of work (committed before the response is
    sent), the same caller checks (401 / CSRF 403) in the same order, but one node for FastAPI to
    solve instead of six — solving the graph was a measurable share of a buy-now request
    (benchmarks/README.md, "After settling the heap, one buying dependency and closing in place")."""
    async with get_database(request).unit_of_work(write=request.method not in SAFE_METHODS) as db:
        caller = await required_caller(await optional_caller(request, db))
        yield SignedIn(db, caller.user, request.app.state.settings)


def rate_limited(rule: str) -> Any:
    """A route's rate limit (kit/ratelimit.py), declared in its decorator:
    ``@router.post(..., dependencies=[rate_limited("comment")])``. Solved before the handler (and
    before the body is read), so a refused request — ``429 rate_limited`` with ``Retry-After``, or
    the error page on a page route — has written nothing. The caller is the one the handler sees
    (FastAPI solves ``optional_caller`` once per request)."""
    if rule not in RULES:
        raise ValueError(f"no rate limit rule {rule!r}")

    async def per_user(request: Request, caller: Annotated[Caller | None, Depends(optional_caller)]) -> None:
        await rate_limiter(request).check(rule, request, user_id=caller.user.id if caller else None)

    async def per_address_or_shop(request: Request) -> None:  # no caller needed: no token looked up
        await rate_limiter(request).check(rule, request, shop=request.path_params.get("slug"))

    check = per_user if RULES[rule].scope == "user" else per_address_or_shop
    openapi.declare(check, {429: RATE_LIMITED})
    return Depends(check)


CurrentCaller = Annotated[Caller, Depends(required_caller)]
CurrentUser = Annotated[User, Depends(required_user)]
MaybeUser = Annotated[User | None, Depends(optional_user)]
MaybeReader = Annotated[Reader | None, Depends(optional_reader)]
AdminUser = Annotated[User, Depends(admin_user)]
SignedInUnit = Annotated[SignedIn, Depends(signed_in, scope="function")]


# How these dependencies answer, for the OpenAPI document (kit/openapi.py derives each operation's
# security and failure statuses from the dependencies it uses).
_INVALID_SESSION = "The bearer token is unknown, expired or revoked (`invalid_session`)."
_CSRF = "Cookie-authenticated write without a matching `X-CSRF-Token` (`csrf_failed`)."
openapi.declare(optional_caller, {401: _INVALID_SESSION}, write_statuses={403: _CSRF}, auth="optional")
openapi.declare(optional_reader, {401: _INVALID_SESSION}, auth="optional")
openapi.declare(required_caller, {401: "Not signed in (`not_authenticated`) or the session has ended."},
                auth="required")
openapi.declare(signed_in, {401: "Not signed in (`not_authenticated`) or the session has ended."},
                write_statuses={403: _CSRF}, auth="required")
openapi.declare(admin_user, {403: "Operators only (`admin_only`)."})
