"""Admin API tokens: generated here, stored only as a keyed hash, shown once.

A token reads `rcp_<prefix>_<secret>`. The prefix is stored in clear so that an admin can
tell tokens apart in a list; the database holds HMAC-SHA256(pepper, token), so a stolen
database dump does not yield usable tokens without the pepper, which lives in a Secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

TOKEN_PREFIX = "rcp"  # noqa: S105 - the visible prefix of every token, not a secret
# How long a token lives unless its issuer says otherwise, and the longest it may (the admin
# service's settings RCP_ADMIN_TOKEN_DEFAULT_DAYS and RCP_ADMIN_TOKEN_MAX_DAYS).
DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=365)
# What `issue_token` makes: anything else is refused without looking it up.
TOKEN_SHAPE = re.compile(rf"^{TOKEN_PREFIX}_[0-9a-f]{{8}}_[A-Za-z0-9_-]{{43}}$")


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the clear text (shown once), its display prefix and its stored hash."""

    token: str
    prefix: str
    digest: bytes


def hash_token(token: str, pepper: str) -> bytes:
    """The keyed hash under which a token is stored and looked up."""
    return hmac.digest(pepper.encode(), token.encode(), hashlib.sha256)


def issue_token(pepper: str) -> IssuedToken:
    """Generate a new random token."""
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedToken(token=token, prefix=prefix, digest=hash_token(token, pepper))


def well_formed(token: str) -> bool:
    """Whether `token` has the shape of an issued token (a typo or a probe has not)."""
    return bool(TOKEN_SHAPE.match(token))
