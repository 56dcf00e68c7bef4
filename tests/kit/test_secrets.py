"""Credentials sealed at rest (kit/secrets.py): round trip, rotation, a generated key file, a lost key."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from mercato.config import Settings, get_settings
from mercato.kit import secrets


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    yield
    secrets.configure(get_settings())


def test_sealed_values_open_again_and_hide_the_text(tmp_path: Path) -> None:
    secrets.configure(Settings(secret_key=Fernet.generate_key().decode(), media_dir=tmp_path))
    sealed = secrets.seal("shpat_0123456789abcdef")
    assert sealed.startswith(secrets.PREFIX) and "shpat_0123456789abcdef" not in sealed
    assert secrets.unseal(sealed) == "shpat_0123456789abcdef"
    assert secrets.seal("") == ""  # a disconnected store keeps nothing
    assert secrets.unseal("written-before-sealing") == "written-before-sealing"


def test_a_new_key_first_rotates_and_a_lost_key_is_a_clear_error(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    secrets.configure(Settings(secret_key=old, media_dir=tmp_path))
    sealed = secrets.seal("token-a")
    secrets.configure(Settings(secret_key=f"{new},{old}", media_dir=tmp_path))
    assert secrets.unseal(sealed) == "token-a"  # the old key still opens
    resealed = secrets.seal("token-a")
    secrets.configure(Settings(secret_key=new, media_dir=tmp_path))
    assert secrets.unseal(resealed) == "token-a"  # sealed under the new key
    with pytest.raises(secrets.SecretUnreadable):
        secrets.unseal(sealed)


def test_without_a_configured_key_one_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    key_file = tmp_path / "state" / "secret.key"
    settings = Settings(secret_key="", secret_key_file=key_file, media_dir=tmp_path / "media")
    secrets.configure(settings)
    sealed = secrets.seal("token-b")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_bytes()
    secrets.configure(settings)  # a restart reads the same key
    assert key_file.read_bytes() == first and secrets.unseal(sealed) == "token-b"
