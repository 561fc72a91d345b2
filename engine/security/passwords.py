"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.errors import InvalidInputError

MIN_PASSWORD_LENGTH = 8
"""Shorter passwords are refused."""

_hasher = PasswordHasher()


def hash_password(plain: str) -> str:
    """The Argon2id hash of ``plain``; InvalidInputError when it is too short."""
    if len(plain) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters long")
    return _hasher.hash(plain)


def verify_password(password_hash: str, plain: str) -> bool:
    """True when ``plain`` matches ``password_hash``; False too for a malformed hash."""
    try:
        return _hasher.verify(password_hash, plain)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when ``password_hash`` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
