"""One-time links sent by email: an invitation to choose a password, or a password reset.

The link carries a random secret in its fragment (`/#/invitation?token=...`): a browser never
sends a fragment to a server, so it stays out of access logs and Referer headers. The database
holds only the secret's keyed hash. A link is good once, until it expires; making a new one
for the same user and purpose voids the older ones.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import asyncpg
from rcp.tokens import hash_token
from rcp.vocabulary import LinkPurpose

from rcp_admin.errors import LINK_INVALID, ApiError
from rcp_admin.unit_of_work import Reader, Store

LINK_PREFIX = "rcl_"
LINK_SHAPE = re.compile(r"^rcl_[A-Za-z0-9_-]{43}$")
PAGES = {LinkPurpose.INVITATION: "invitation", LinkPurpose.PASSWORD_RESET: "reset"}


@dataclass(frozen=True)
class NewLink:
    """A link just made: its secret (shown only in the email), its address and its end."""

    secret: str
    url: str
    expires_at: datetime


async def new_link(
    store: Store, connection: Reader, user: asyncpg.Record, purpose: LinkPurpose
) -> NewLink:
    """A new link for the user, voiding the user's unused links of the same purpose."""
    lifetime = (
        store.links.invitation if purpose is LinkPurpose.INVITATION else store.links.password_reset
    )
    expires_at = datetime.now(UTC) + lifetime
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    await connection.execute(
        """UPDATE user_links SET used_at = now()
            WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL""",
        user["id"],
        purpose,
    )
    await connection.execute(
        """INSERT INTO user_links (user_id, tenant_id, purpose, secret_hash, expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        user["id"],
        user["tenant_id"],
        purpose,
        hash_token(secret, store.token_pepper),
        expires_at,
    )
    url = f"{store.links.public_url.rstrip('/')}/#/{PAGES[purpose]}?token={quote(secret)}"
    return NewLink(secret, url, expires_at)


INVALID_MESSAGE = (
    "this link has expired or was already used: ask for a new one (an invitation from your "
    "admin, a password reset from the sign-in page)"
)


async def find_link(
    connection: Reader, pepper: str, secret: str, lock: bool = False
) -> asyncpg.Record:
    """A link still good and its user (their email, tenant); 410 link_invalid otherwise."""
    invalid = ApiError(LINK_INVALID, INVALID_MESSAGE, "token")
    if not LINK_SHAPE.match(secret):
        raise invalid
    row: asyncpg.Record | None = await connection.fetchrow(
        """SELECT l.id AS link_id, l.purpose, l.expires_at, u.*, n.status AS tenant_status
             FROM user_links l JOIN users u ON u.id = l.user_id
             LEFT JOIN tenants n ON n.id = u.tenant_id
            WHERE l.secret_hash = $1 AND l.used_at IS NULL AND l.expires_at > now()
              AND u.disabled_at IS NULL"""
        + (" FOR UPDATE OF l" if lock else ""),
        hash_token(secret, pepper),
    )
    if row is None:
        raise invalid
    return row
