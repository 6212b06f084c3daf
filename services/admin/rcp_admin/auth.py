"""Who is calling: bearer tokens, their scope, and a per-token rate limit."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from rcp.db.scope import Scope, ScopedPool
from rcp.errors import ErrorCode
from rcp.tokens import hash_token

from rcp_admin.errors import RATE_LIMITED, ApiError, not_found

LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    token_id: UUID | None  # None: the command line, run by an operator on the host
    name: str
    tenant_id: UUID | None  # None: carrier scope, sees every tenant

    @property
    def scope(self) -> Scope:
        """The rows the caller's statements reach: its tenant's, or (carrier) every one."""
        return Scope.carrier() if self.tenant_id is None else Scope.tenant(self.tenant_id)

    @property
    def is_carrier(self) -> bool:
        """Whether this is a carrier token."""
        return self.tenant_id is None

    def require_carrier(self) -> None:
        """Refuse tenant tokens on carrier-only operations."""
        if not self.is_carrier:
            raise ApiError(ErrorCode.FORBIDDEN, "this operation needs a carrier token")

    def require_tenant(self, tenant_id: UUID) -> None:
        """Another tenant's resources answer 404, exactly like missing ones."""
        if self.tenant_id is not None and self.tenant_id != tenant_id:
            raise not_found("tenant", "tenant_id")


async def authenticate(pool: ScopedPool, pepper: str, header: str | None) -> Principal:
    """The principal behind an `Authorization: Bearer` header; 401 otherwise. The token is
    looked up among every tenant's (`pool` in carrier scope): the caller is not known yet."""
    if not header or not header.startswith("Bearer "):
        raise ApiError(
            ErrorCode.UNAUTHORIZED,
            "send an admin token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="receptionist"'},
        )
    digest = hash_token(header.removeprefix("Bearer ").strip(), pepper)
    row = await pool.fetchrow(
        """SELECT id, name, tenant_id, last_used_at < now() - $2::interval AS stale
             FROM admin_tokens
            WHERE token_hash = $1 AND revoked_at IS NULL
              AND (expires_at IS NULL OR expires_at > now())""",
        digest,
        LAST_USED_PRECISION,
    )
    if row is None:
        raise ApiError(
            ErrorCode.UNAUTHORIZED,
            "the token is unknown, revoked or expired",
            headers={"WWW-Authenticate": 'Bearer realm="receptionist", error="invalid_token"'},
        )
    if row["stale"] is not False:
        # Written at most once a minute per token: an UPDATE on every request would make
        # all requests of one token queue on its row lock.
        await pool.execute("UPDATE admin_tokens SET last_used_at = now() WHERE id = $1", row["id"])
    return Principal(token_id=row["id"], name=row["name"], tenant_id=row["tenant_id"])


@dataclass
class RateLimiter:
    """A token bucket per admin token, in this process.

    Each admin instance limits on its own: behind N instances a token gets up to N times
    the rate, which bounds abuse without a shared store on the request path.
    """

    rate_per_s: float
    burst: int
    _buckets: dict[UUID | None, tuple[float, float]] = field(default_factory=dict)

    def check(self, token_id: UUID | None, now: float | None = None) -> None:
        """Take one request from the token's bucket, or refuse with Retry-After."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(token_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
        if tokens < 1.0:
            retry_after = max(1, math.ceil((1.0 - tokens) / self.rate_per_s))
            self._buckets[token_id] = (tokens, now)
            raise ApiError(
                RATE_LIMITED,
                f"too many requests for this token; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
        self._buckets[token_id] = (tokens - 1.0, now)
