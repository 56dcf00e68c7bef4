"""Request and response bodies of the accounts API."""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from mercato.kit.fields import BodyId, IsoDate

HANDLE_RE = re.compile(r"^[a-z0-9_.]{3,30}$")


class StrictBody(BaseModel):
    """Request bodies ignore unknown fields (mass assignment is impossible by construction)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class RegisterIn(StrictBody):
    email: EmailStr
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field(min_length=1, max_length=80)
    date_of_birth: IsoDate


class LoginIn(StrictBody):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class PasswordChangeIn(StrictBody):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class ProfileUpdateIn(StrictBody):
    display_name: str | None = Field(default=None, min_length=1, max_length=80)
    bio: str | None = Field(default=None, max_length=500)
    handle: str | None = Field(default=None, max_length=30)
    niche_tags: list[str] | None = Field(default=None, max_length=10)
    become_creator: bool | None = Field(default=None, strict=True)

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.lower().lstrip("@")
        if not HANDLE_RE.match(value):
            raise ValueError("3–30 characters: lowercase letters, digits, '_' or '.'")
        return value

    @field_validator("niche_tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = []
        for tag in value:
            tag = tag.strip().lower().lstrip("#")
            if not tag or len(tag) > 30:
                raise ValueError("each tag has 1–30 characters")
            if tag not in cleaned:
                cleaned.append(tag)
        return cleaned


class UserPublic(BaseModel):
    """What anyone may see of an account."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str
    handle: str | None
    bio: str
    niche_tags: list[str]
    is_creator: bool
    avatar_url: str | None = None
    followers_count: int
    following_count: int


class UserPrivate(UserPublic):
    """What the account holder sees of themself."""

    email: str
    date_of_birth: date
    is_adult: bool
    is_admin: bool
    created_at: datetime


class SessionOut(BaseModel):
    token: str
    expires_at: datetime
    user: UserPrivate


class RelationOut(BaseModel):
    following: bool
    blocked: bool
    followers_count: int


class NotificationOut(BaseModel):
    id: int
    kind: str
    subject_id: int
    text: str
    url: str
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = None
    unread: int


class NotificationsReadIn(StrictBody):
    """Mark these notifications read; without ``ids``, all of the caller's."""

    ids: list[BodyId] | None = Field(default=None, max_length=200)


class NotificationsReadOut(BaseModel):
    marked: int
    unread: int
