"""Password hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from engine.errors import InvalidInputError
from engine.security.passwords import hash_password, needs_rehash, verify_password


def test_hash_verifies_its_password_only() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert hashed != hash_password("correct horse")  # salted
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "correct horsE")


def test_malformed_hash_does_not_verify() -> None:
    assert not verify_password("not a hash", "whatever-long")
    assert not verify_password("", "whatever-long")


@pytest.mark.parametrize("plain", ["", "short", "1234567"])
def test_short_password_is_refused(plain: str) -> None:
    with pytest.raises(InvalidInputError, match="at least 8 characters"):
        hash_password(plain)


def test_eight_characters_are_enough() -> None:
    assert verify_password(hash_password("12345678"), "12345678")


def test_needs_rehash_for_weaker_parameters() -> None:
    assert not needs_rehash(hash_password("correct horse"))
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")
    assert needs_rehash(weak)
    assert verify_password(weak, "correct horse")
