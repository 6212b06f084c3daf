"""Conference room PINs: at least four digits, stored only as a salted scrypt hash.

The admin service hashes a PIN when it is written (and never shows it again); the stasis
service hashes what a caller typed with the stored salt and compares (`verify_pin`, in a
thread: one check costs about 50 ms of CPU, by design). A PIN of a few digits cannot resist
someone who reads the hash and tries every PIN, whatever the hash: hashing keeps PINs out of
sight (API answers, exports, the audit log, a database dump read over a shoulder), and the
stasis service's lock on a room that keeps failing (`rcp_stasis.pins`) is what stops guessing
by phone.

A stored hash reads `scrypt$<log2 n>$<r>$<p>$<salt>$<hash>` (salt and hash in base64 without
padding), so that stronger parameters can come later and older hashes still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

MIN_DIGITS = 4
"""The fewest digits a new PIN may have."""
MAX_DIGITS = 12
DEFAULT_DIGITS = 6
"""What the web manager suggests."""
LEGACY_MIN_DIGITS = 3
"""PINs saved before hashing could have three digits: they still work, and are flagged."""

PIN = re.compile(rf"^[0-9]{{{MIN_DIGITS},{MAX_DIGITS}}}$")
HASHED = re.compile(
    r"^scrypt\$[0-9]{2}\$[0-9]{1,2}\$[0-9]{1,2}\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$"
)
"""A stored PIN hash (the database's check constraint says the same)."""

LOG_N, R, P = 14, 8, 1  # 16 MiB and about 50 ms per hash
LOG_N_RANGE = range(10, 21)  # the costs a stored hash may ask for (a forged row asks no more)
SALT_BYTES, HASH_BYTES = 16, 32
MAX_MEMORY = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(pin: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        pin.encode(), salt=salt, n=1 << log_n, r=r, p=p, maxmem=MAX_MEMORY, dklen=HASH_BYTES
    )


def hash_pin(pin: str) -> str:
    """The stored form of a PIN (any number of digits: the caller checks the rules)."""
    if not pin.isascii() or not pin.isdigit():
        raise ValueError("a PIN is digits only")
    salt = os.urandom(SALT_BYTES)
    return f"scrypt${LOG_N}${R}${P}${_b64(salt)}${_b64(_scrypt(pin, salt, LOG_N, R, P))}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether `pin` is the PIN `stored` was made from (False for a malformed hash)."""
    if not HASHED.match(stored) or not pin.isascii() or not pin.isdigit() or len(pin) > MAX_DIGITS:
        return False
    _, log_n, r, p, salt, digest = stored.split("$")
    if int(log_n) not in LOG_N_RANGE:
        return False
    typed = _scrypt(pin, _unb64(salt), int(log_n), int(r), int(p))
    return hmac.compare_digest(typed, _unb64(digest))
