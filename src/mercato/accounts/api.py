"""JSON routes of accounts: ``/api/v1/auth``, ``/api/v1/me``, ``/api/v1/users``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from mercato.accounts import hooks, notifications, service
from mercato.accounts import repository as repo
from mercato.accounts.deps import CurrentCaller, CurrentUser, MaybeUser, rate_limited
from mercato.accounts.errors import AccountsError
from mercato.accounts.presenters import notification_out, private_user, public_user
from mercato.accounts.schemas import (
    LoginIn,
    NotificationPage,
    NotificationsReadIn,
    NotificationsReadOut,
    PasswordChangeIn,
    ProfileUpdateIn,
    RegisterIn,
    RelationOut,
    SessionOut,
    UserPrivate,
    UserPublic,
)
from mercato.kit.errors import Unauthorized
from mercato.kit.http import AppSettings, DbSession, client_address
from mercato.kit.images import store_image
from mercato.kit.limits import larger_body
from mercato.kit.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from mercato.kit.uploads import read_capped

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _session_out(issued: service.IssuedSession, settings: AppSettings) -> SessionOut:
    return SessionOut(
        token=issued.token, expires_at=issued.session.expires_at, user=private_user(issued.user, settings)
    )


@router.post("/auth/register", status_code=201, response_model=SessionOut, dependencies=[rate_limited("signup")])
async def register(body: RegisterIn, request: Request, db: DbSession, settings: AppSettings) -> SessionOut:
    """Create an account (13+) and log it in; the answer carries a bearer token."""
    user = await service.register(db, body, settings)
    issued = await service.start_session(db, user, settings, request.headers.get("user-agent", ""))
    await hooks.signed_in(db, user, request.cookies)
    return _session_out(issued, settings)


@router.post("/auth/login", response_model=SessionOut)
async def login(body: LoginIn, request: Request, db: DbSession, settings: AppSettings) -> SessionOut:
    issued = await service.login(
        db, body.email, body.password, client=client_address(request),
        user_agent=request.headers.get("user-agent", ""), settings=settings,
    )
    if issued is None:
        # The recorded failure must survive the error answer (it feeds throttling).
        await db.commit()
        raise Unauthorized(service.GENERIC_LOGIN_ERROR, code=AccountsError.INVALID_CREDENTIALS)
    await hooks.signed_in(db, issued.user, request.cookies)
    return _session_out(issued, settings)


@router.post("/auth/logout", status_code=204)
async def logout(caller: CurrentCaller, db: DbSession) -> Response:
    await service.logout(db, caller.user, caller.token)
    return Response(status_code=204)


@router.post("/auth/password", response_model=SessionOut, dependencies=[rate_limited("password")])
async def change_password(
    body: PasswordChangeIn, caller: CurrentCaller, request: Request, db: DbSession, settings: AppSettings
) -> SessionOut:
    """Change the password; every session (this one too) is revoked and a new token returned."""
    issued = await service.change_password(
        db, caller.user, body.current_password, body.new_password,
        settings=settings, user_agent=request.headers.get("user-agent", ""),
    )
    return _session_out(issued, settings)


@router.get("/me", response_model=UserPrivate)
async def me(user: CurrentUser, settings: AppSettings) -> UserPrivate:
    return private_user(user, settings)


@router.patch("/me", response_model=UserPrivate)
async def update_me(body: ProfileUpdateIn, user: CurrentUser, db: DbSession, settings: AppSettings) -> UserPrivate:
    """Edit the profile; unknown fields (``is_admin``, ``email`` …) are ignored."""
    await service.update_profile(db, user, body)
    return private_user(user, settings)


@router.post("/me/avatar", response_model=UserPrivate)
@larger_body("max_image_bytes")
async def upload_avatar(
    user: CurrentUser, db: DbSession, settings: AppSettings, file: Annotated[UploadFile, File()]
) -> UserPrivate:
    data = await read_capped(file, settings.max_image_bytes, code=AccountsError.IMAGE_TOO_LARGE)
    stored = store_image(data, settings.media_dir, f"avatars/{user.id}", max_bytes=settings.max_image_bytes)
    user.avatar_path = stored.thumb_path
    await db.flush()
    return private_user(user, settings)


@router.get("/users/{ref}", response_model=UserPublic)
async def get_user(ref: str, db: DbSession) -> UserPublic:
    """A profile by id or handle."""
    return public_user(await service.find_user(db, ref))


async def _relation(db: DbSession, me_id: int, target_id: int) -> RelationOut:
    target = await repo.user_by_id(db, target_id)
    assert target is not None
    await db.refresh(target)
    return RelationOut(
        following=await repo.follow_exists(db, me_id, target_id),
        blocked=await repo.block_exists(db, me_id, target_id),
        followers_count=target.followers_count,
    )


@router.get("/users/{ref}/relation", response_model=RelationOut)
async def relation(ref: str, user: CurrentUser, db: DbSession) -> RelationOut:
    target = await service.find_user(db, ref)
    return await _relation(db, user.id, target.id)


@router.put("/users/{ref}/follow", response_model=RelationOut, dependencies=[rate_limited("follow")])
async def follow(ref: str, user: CurrentUser, db: DbSession) -> RelationOut:
    target = await service.find_user(db, ref)
    await service.follow(db, user, target)
    return await _relation(db, user.id, target.id)


@router.delete("/users/{ref}/follow", response_model=RelationOut, dependencies=[rate_limited("follow")])
async def unfollow(ref: str, user: CurrentUser, db: DbSession) -> RelationOut:
    target = await service.find_user(db, ref)
    await service.unfollow(db, user, target)
    return await _relation(db, user.id, target.id)


@router.put("/users/{ref}/block", response_model=RelationOut, dependencies=[rate_limited("follow")])
async def block(ref: str, user: CurrentUser, db: DbSession) -> RelationOut:
    target = await service.find_user(db, ref)
    await service.block(db, user, target)
    return await _relation(db, user.id, target.id)


@router.delete("/users/{ref}/block", response_model=RelationOut, dependencies=[rate_limited("follow")])
async def unblock(ref: str, user: CurrentUser, db: DbSession) -> RelationOut:
    target = await service.find_user(db, ref)
    await service.unblock(db, user, target)
    return await _relation(db, user.id, target.id)


async def _edges(
    ref: str, direction: str, db: DbSession, cursor: str | None, limit: int | None, settings: AppSettings
) -> Page[UserPublic]:
    target = await service.find_user(db, ref)
    size = clamp_limit(limit, settings.page_size_default, settings.page_size_max)
    after = decode_cursor(cursor, (datetime, int))
    key = (after[0].isoformat(), after[1]) if after else None
    rows = await repo.list_follow_edges(db, target.id, direction=direction, after=key, limit=size)
    items = [public_user(u) for u, _ in rows[:size]]
    nxt = encode_cursor([rows[size - 1][1].isoformat(), rows[size - 1][0].id]) if len(rows) > size else None
    return Page[UserPublic](items=items, next_cursor=nxt)


@router.get("/users/{ref}/followers", response_model=Page[UserPublic])
async def followers(
    ref: str, db: DbSession, settings: AppSettings,
    cursor: str | None = None, limit: Annotated[int | None, Query(ge=1)] = None,
) -> Page[UserPublic]:
    return await _edges(ref, "followers", db, cursor, limit, settings)


@router.get("/users/{ref}/following", response_model=Page[UserPublic])
async def following(
    ref: str, db: DbSession, settings: AppSettings,
    cursor: str | None = None, limit: Annotated[int | None, Query(ge=1)] = None,
) -> Page[UserPublic]:
    return await _edges(ref, "following", db, cursor, limit, settings)


# --- notifications (the bell) -------------------------------------------------------------------

@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    user: CurrentUser, db: DbSession, settings: AppSettings,
    cursor: str | None = None, limit: Annotated[int | None, Query(ge=1)] = None,
) -> NotificationPage:
    """The caller's in-app notifications, newest first, and how many are unread."""
    size = clamp_limit(limit, settings.page_size_default, settings.page_size_max)
    items, nxt = await notifications.page(db, user, cursor, size)
    return NotificationPage(items=[notification_out(item) for item in items], next_cursor=nxt,
                            unread=await notifications.unread(db, user))


@router.post("/notifications/read", response_model=NotificationsReadOut)
async def read_notifications(body: NotificationsReadIn, user: CurrentUser, db: DbSession) -> NotificationsReadOut:
    """Mark notifications read: ``{"ids": [...]}``, or ``{}`` for all of them."""
    marked = await notifications.mark_read(db, user, body.ids)
    return NotificationsReadOut(marked=marked, unread=await notifications.unread(db, user))


__all__ = ["MaybeUser", "router"]
