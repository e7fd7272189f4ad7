"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assay.core.errors import FieldError, InvalidInput

MIN_PASSWORD_LENGTH = 12
_HASHER = PasswordHasher()
# Compared against when the account does not exist, so both paths cost one argon2 verify.
_DUMMY_HASH = _HASHER.hash("assay-dummy-password-for-timing")


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "the password is too short",
            errors=[FieldError("password", f"at least {MIN_PASSWORD_LENGTH} characters")],
        )


def hash_password(password: str) -> str:
    check_strength(password)
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
