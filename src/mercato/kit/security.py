"""Passwords (argon2id) and opaque tokens."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mercato.config import get_settings


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib, type=Type.ID)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A real hash to verify against when the email is unknown, so that timing does not tell.
_DUMMY_HASH: list[str] = []


def verify_dummy(password: str) -> None:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("not-a-real-password"))
    verify_password(_DUMMY_HASH[0], password)


def new_token() -> str:
    """A 256-bit opaque token, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Only this digest is stored: a database leak does not leak usable sessions."""
    return hashlib.sha256(token.encode()).hexdigest()
