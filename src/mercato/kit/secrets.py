"""Encryption at rest for credentials Mercato keeps for its users (a connected store's access
token and webhook signing secret): a database dump or backup does not hand them out.

Values are sealed with Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package)
under the deployment's key: ``MERCATO_SECRET_KEY`` when set (a Fernet key; several comma-
separated keys rotate: the first seals, every one opens), else a key generated once and kept in
``MERCATO_SECRET_KEY_FILE`` (default ``var/secret.key``, mode 0600, never under the media folder
that the app serves). Losing the key loses the sealed values: the seller reconnects the store.

:class:`SealedText` is the column type: the ORM seals on write and opens on read, so domain code
handles plain strings. A stored value without the ``fernet:`` prefix (written before sealing
existed) is read as it is and sealed on its next write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from mercato.config import Settings, get_settings

PREFIX = "fernet:"
_boxes: list[MultiFernet] = []


class SecretUnreadable(RuntimeError):
    """A sealed value that no configured key opens (the key was changed or lost)."""


def keys_of(settings: Settings) -> list[bytes]:
    """The configured keys, or the generated key of the key file (made on first use)."""
    if settings.secret_key.strip():
        return [part.strip().encode() for part in settings.secret_key.split(",") if part.strip()]
    path = Path(settings.secret_key_file)
    if not path.exists():
        # Written whole to a private file first, then linked into place: two processes starting
        # together agree on one key (the second link fails and it reads the first's).
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return [path.read_bytes().strip()]


def configure(settings: Settings) -> None:
    """Use ``settings``' keys from now on (the app at start; otherwise the environment's)."""
    _boxes[:] = [MultiFernet([Fernet(key) for key in keys_of(settings)])]


def _box() -> MultiFernet:
    if not _boxes:
        configure(get_settings())
    return _boxes[0]


def seal(text: str) -> str:
    return PREFIX + _box().encrypt(text.encode()).decode() if text else ""


def unseal(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _box().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("a stored credential cannot be opened with the configured secret key") from exc


class SealedText(TypeDecorator[str]):
    """Text sealed with the deployment's key on the way in, opened on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else unseal(value)
