"""People's passwords: hashed with argon2id (argon2-cffi, RFC 9106's low-memory profile), checked
in a worker thread (a hash takes tens of milliseconds of CPU), never stored or logged in clear.
"""

from __future__ import annotations

import asyncio
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from rcp_admin.errors import VALIDATION_FAILED, ApiError

MIN_LENGTH = 10
MAX_LENGTH = 256
HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4


def check_strength(password: str, email: str, field: str = "password") -> None:
    """Refuse a password too short, too long, or that is the account's email address."""
    if len(password) < MIN_LENGTH:
        raise ApiError(
            VALIDATION_FAILED,
            f"choose a password of at least {MIN_LENGTH} characters",
            field,
            {"min_length": MIN_LENGTH},
        )
    if len(password) > MAX_LENGTH:
        raise ApiError(VALIDATION_FAILED, f"a password has at most {MAX_LENGTH} characters", field)
    if password.strip().lower() == email.lower():
        raise ApiError(VALIDATION_FAILED, "the password cannot be your email address", field)


async def hash_password(password: str) -> str:
    """The argon2id hash stored for a password."""
    return await asyncio.to_thread(HASHER.hash, password)


@cache
def _decoy() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` is the one `stored` hashes. With no stored hash (an unknown account,
    an invitation not accepted yet) a decoy is checked, so that the answer takes as long."""
    candidate = stored if stored is not None else await asyncio.to_thread(_decoy)

    def verify() -> bool:
        try:
            return HASHER.verify(candidate, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with weaker parameters than today's (rehash on sign-in)."""
    return HASHER.check_needs_rehash(stored)


def generated_password() -> str:
    """A password for an account made on the command line: shown once."""
    return secrets.token_urlsafe(15)
