"""Turn account rows into API bodies."""

from __future__ import annotations

from mercato.accounts.models import Notification, User
from mercato.accounts.schemas import NotificationOut, UserPrivate, UserPublic
from mercato.accounts.service import is_adult
from mercato.config import Settings
from mercato.kit.images import media_url


def public_user(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        display_name=user.display_name,
        handle=user.handle,
        bio=user.bio,
        niche_tags=list(user.niche_tags or []),
        is_creator=user.is_creator,
        avatar_url=media_url(user.avatar_path),
        followers_count=user.followers_count,
        following_count=user.following_count,
    )


def private_user(user: User, settings: Settings) -> UserPrivate:
    return UserPrivate(
        **public_user(user).model_dump(),
        email=user.email,
        date_of_birth=user.date_of_birth,
        is_adult=is_adult(user, settings),
        is_admin=user.is_admin,
        created_at=user.created_at,
    )


def notification_out(item: Notification) -> NotificationOut:
    return NotificationOut(id=item.id, kind=item.kind, subject_id=item.subject_id, text=item.text, url=item.url,
                           created_at=item.created_at, read=item.read_at is not None)
