"""kit/security.py with the production argon2id parameters (the suite hashes with cheaper ones)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type

from mercato.config import Settings
from mercato.kit.security import verify_password


def test_a_password_hashed_with_the_production_parameters_verifies() -> None:
    fields = Settings.model_fields
    production = PasswordHasher(time_cost=fields["argon2_time_cost"].default,
                                memory_cost=fields["argon2_memory_kib"].default, type=Type.ID)
    stored = production.hash("correct-horse-1")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,")
    assert verify_password(stored, "correct-horse-1") is True
    assert verify_password(stored, "correct-horse-2") is False
