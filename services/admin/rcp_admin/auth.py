"""Who is calling: bearer tokens (their scope and lifetime) or people's sessions (a cookie,
with a CSRF token on every change), their roles, a per-caller rate limit, and a limit on
failed authentications per client address (sign-ins also per account)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from rcp.db.scope import Scope, ScopedPool
from rcp.errors import ErrorCode
from rcp.tokens import DEFAULT_LIFETIME, MAX_LIFETIME, hash_token, well_formed
from rcp.vocabulary import TenantStatus, UserRole

from rcp_admin.errors import (
    CSRF_FAILED,
    RATE_LIMITED,
    READ_ONLY,
    VALIDATION_FAILED,
    ApiError,
    not_found,
)
from rcp_admin.memory import Memory

LAST_USED_PRECISION = timedelta(minutes=1)
# Addresses whose failures are remembered at once, in this process: past it, those whose
# bucket is full again are forgotten (they would start full anyway).
MAX_ADDRESSES = 100_000
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# What an operation needs beyond the scope of its path: any member of the tenant (reads; writes
# for editors and admins), the tenant's admins (its users, its audit log, its privacy
# settings), or only a signed-in person acting on their own account.
Access = Literal["member", "admin", "self", "read"]
"""Who of a tenant may use a route beyond its scope: any member (reads for every role, changes
for editors and admins), only admins, a signed-in person's own account, or (`read`) every
role, viewers too, for a POST that changes nothing (a simulation)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READERS = frozenset({UserRole.VIEWER, UserRole.SUPPORT})
CARRIER_ROLES = frozenset({UserRole.OPERATOR, UserRole.SUPPORT})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a token, the command line, or a signed-in person."""

    token_id: UUID | None  # None: the command line, run by an operator on the host, or a person
    name: str
    tenant_id: UUID | None  # None: carrier scope, sees every tenant
    user_id: UUID | None = None  # a person signed in (their email is the name)
    role: UserRole | None = None  # None: a token or the command line, all its scope allows
    session_id: UUID | None = None
    read_only: bool = False  # carrier support viewing one tenant's pages ("view as")
    anonymous: bool = False  # nobody yet: signing in, accepting an invitation

    @property
    def scope(self) -> Scope:
        """The rows the caller's statements reach: its tenant's, or (carrier) every one."""
        if self.anonymous:
            return Scope.nothing()
        return Scope.carrier() if self.tenant_id is None else Scope.tenant(self.tenant_id)

    @property
    def is_carrier(self) -> bool:
        """Whether this is the carrier (a carrier token, the command line, carrier staff)."""
        return self.tenant_id is None and not self.anonymous

    @property
    def rate_key(self) -> UUID | None:
        """What the request rate is counted against: the token, or the session."""
        return self.token_id or self.session_id

    def require_carrier(self) -> None:
        """Refuse tenant tokens on carrier-only operations."""
        if not self.is_carrier:
            raise ApiError(ErrorCode.FORBIDDEN, "this operation needs a carrier token")

    def require_tenant(self, tenant_id: UUID) -> None:
        """Another tenant's resources answer 404, exactly like missing ones."""
        if self.anonymous:
            raise ApiError(ErrorCode.UNAUTHORIZED, "sign in first")
        if self.tenant_id is not None and self.tenant_id != tenant_id:
            raise not_found("tenant", "tenant_id")

    def require_access(self, access: Access, writes: bool) -> None:
        """Refuse what the person's role does not allow (tokens: their scope said it all)."""
        if access == "self":
            if self.user_id is None and writes:
                raise ApiError(ErrorCode.FORBIDDEN, "this operation is a signed-in person's")
            return
        if self.role is None:
            return
        if access == "read":  # a question with a body: it changes nothing
            writes = False
        if writes and (self.read_only or self.role in READERS):
            why = (
                "you are viewing this tenant read-only"
                if self.read_only
                else (f"your role ({self.role.value}) may read, not change")
            )
            raise ApiError(READ_ONLY, why, details={"role": self.role.value})
        if access == "admin" and self.role is UserRole.EDITOR:
            raise ApiError(
                ErrorCode.FORBIDDEN,
                "only the tenant's admins may do this",
                details={"role": self.role.value},
            )


NOBODY = Principal(token_id=None, name="anonymous", tenant_id=None, anonymous=True)


@dataclass(frozen=True)
class TokenLifetime:
    """How long a new token lives unless asked otherwise, and the longest it may."""

    default: timedelta = DEFAULT_LIFETIME
    maximum: timedelta = MAX_LIFETIME

    def expiry(self, asked: datetime | None, now: datetime) -> datetime:
        """When a token issued `now` expires: `asked`, or the default; refused past the
        maximum or in the past."""
        if asked is None:
            return now + self.default
        if asked <= now:
            raise ApiError(VALIDATION_FAILED, "expires_at must be in the future", "expires_at")
        if asked > now + self.maximum:
            raise ApiError(
                VALIDATION_FAILED,
                f"a token may live at most {self.maximum.days} days: choose an earlier "
                "expires_at (or none, for the default)",
                "expires_at",
                {"max_days": self.maximum.days},
            )
        return asked


BAD_TOKEN_CHALLENGE = 'Bearer realm="receptionist", error="invalid_token"'  # noqa: S105 - a header


async def authenticate(
    pool: ScopedPool,
    pepper: str,
    header: str | None,
    lifetime: TokenLifetime,
    memory: Memory | None = None,
) -> Principal:
    """The principal behind an `Authorization: Bearer` header; 401 otherwise, 403 for a
    token of a suspended tenant. The token is looked up among every tenant's (`pool` in
    carrier scope): the caller is not known yet. `memory`: where a token verified less than
    its `ttl_s` ago is found without a look-up (`rcp_admin.memory`).

    A token without an expiry (issued before tokens had one) lives the maximum lifetime from
    its creation.
    """
    if not header or not header.startswith("Bearer "):
        raise ApiError(
            ErrorCode.UNAUTHORIZED,
            "send an admin token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="receptionist"'},
        )
    token = header.removeprefix("Bearer ").strip()
    unknown = ApiError(
        ErrorCode.UNAUTHORIZED,
        "the token is unknown, revoked or expired",
        headers={"WWW-Authenticate": BAD_TOKEN_CHALLENGE},
    )
    if not well_formed(token):  # no issued token looks like this: no need to look it up
        raise unknown
    digest = hash_token(token, pepper)
    if memory is not None:
        known: Principal | None = memory.token(digest)
        if known is not None:
            return known
        generation = memory.token_generation()
    row = await pool.fetchrow(
        """SELECT t.id, t.name, t.tenant_id, n.status AS tenant_status,
                  t.last_used_at < now() - $2::interval AS stale,
                  extract(epoch FROM coalesce(t.expires_at, t.created_at + $3::interval)
                                     - now())::float8 AS expires_in_s
             FROM admin_tokens t LEFT JOIN tenants n ON n.id = t.tenant_id
            WHERE t.token_hash = $1 AND t.revoked_at IS NULL
              AND coalesce(t.expires_at, t.created_at + $3::interval) > now()""",
        digest,
        LAST_USED_PRECISION,
        lifetime.maximum,
    )
    row = _of_active_tenant(row, unknown, "its tokens are refused")
    if row["stale"] is not False:
        # Written at most once a minute per token: an UPDATE on every request would make
        # all requests of one token queue on its row lock.
        await pool.execute("UPDATE admin_tokens SET last_used_at = now() WHERE id = $1", row["id"])
    principal = Principal(token_id=row["id"], name=row["name"], tenant_id=row["tenant_id"])
    if memory is not None:
        memory.remember_token(digest, principal, row["expires_in_s"], generation)
    return principal


def _of_active_tenant(
    row: asyncpg.Record | None, unknown: ApiError, refused: str
) -> asyncpg.Record:
    """A token's or a session's row: `unknown` (401) if there is none, 403 if its tenant is
    suspended (`refused`: what the suspension refuses)."""
    if row is None:
        raise unknown
    if row["tenant_status"] == TenantStatus.SUSPENDED:
        raise ApiError(
            ErrorCode.TENANT_SUSPENDED,
            f"this tenant is suspended: {refused} until the carrier reactivates it",
        )
    return row


SESSION_COOKIE = "rcp_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_PREFIX = "rcs_"
SESSION_SHAPE = re.compile(r"^rcs_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class SessionRules:
    """How people's sessions live: idle and absolute lifetimes, and the cookie's attributes."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    secure_cookie: bool = True


@dataclass(frozen=True)
class LinkRules:
    """The one-time links sent by email: how long each lives and where they point."""

    invitation: timedelta = timedelta(days=7)
    password_reset: timedelta = timedelta(hours=1)
    public_url: str = "http://127.0.0.1:8080"


def new_session_secret() -> str:
    """The secret a session cookie carries (stored only as its keyed hash)."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def csrf_token(secret: str, pepper: str) -> str:
    """The CSRF token of a session: derived from its secret with the pepper, so a page that
    can read it is the one the sign-in answered, and nothing need be stored."""
    return hmac.new(pepper.encode(), b"csrf:" + secret.encode(), hashlib.sha256).hexdigest()


SESSION_QUERY = """
    SELECT s.id AS session_id, s.view_as_tenant_id, u.id AS user_id, u.email, u.role,
           u.tenant_id, n.status AS tenant_status, s.last_seen_at < now() - $2::interval AS stale
      FROM user_sessions s JOIN users u ON u.id = s.user_id
      LEFT JOIN tenants n ON n.id = u.tenant_id
     WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
       AND s.last_seen_at > now() - $3::interval AND u.disabled_at IS NULL"""


async def authenticate_session(
    pool: ScopedPool, pepper: str, secret: str, rules: SessionRules
) -> Principal:
    """The person behind a session cookie; 401 if it is unknown, signed out or expired (idle
    or absolute), 403 if their tenant is suspended."""
    expired = ApiError(
        ErrorCode.UNAUTHORIZED,
        "your session has ended: sign in again",
        details={"session": "ended"},
    )
    if not SESSION_SHAPE.match(secret):
        raise expired
    row = await pool.fetchrow(
        SESSION_QUERY, hash_token(secret, pepper), LAST_USED_PRECISION, rules.idle
    )
    row = _of_active_tenant(row, expired, "its people cannot sign in")
    if row["stale"]:
        await pool.execute(
            "UPDATE user_sessions SET last_seen_at = now() WHERE id = $1", row["session_id"]
        )
    viewing = row["view_as_tenant_id"]
    return Principal(
        token_id=None,
        name=row["email"],
        tenant_id=viewing or row["tenant_id"],
        user_id=row["user_id"],
        role=UserRole(row["role"]),
        session_id=row["session_id"],
        read_only=viewing is not None,
    )


def check_csrf(request: web.Request, secret: str, pepper: str) -> None:
    """A change made with a session cookie must carry the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_token(secret, pepper).encode()):
        raise ApiError(
            CSRF_FAILED,
            f"a change made with a session needs its CSRF token in {CSRF_HEADER}",
            details={"header": CSRF_HEADER},
        )


def client_address(request: web.Request, trusted_proxies: tuple[IpNetwork, ...]) -> str:
    """The caller's address: the peer's, or, when the peer is a trusted proxy (the ingress
    controller), the last address of X-Forwarded-For that no trusted proxy added."""
    peer = request.remote or ""
    hops = [peer] + [
        part.strip()
        for part in reversed(request.headers.get("X-Forwarded-For", "").split(","))
        if part.strip()
    ]
    for hop in hops:
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return hop  # not an address: as good a name for the caller as any
        if not any(address in network for network in trusted_proxies):
            return hop
    return hops[-1]


@dataclass
class FailedAuthentications:
    """A bucket of failed authentications per client address, in this process: once it is
    empty, the address is answered 429 before any token of it is looked up."""

    per_minute: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def _level(self, address: str, now: float) -> float:
        level, last = self._buckets.get(address, (float(self.burst), now))
        return min(float(self.burst), level + (now - last) * self.per_minute / 60.0)

    def check(self, address: str, now: float | None = None) -> None:
        """Refuse, with Retry-After, an address that has failed too often."""
        now = time.monotonic() if now is None else now
        level = self._level(address, now)
        if level < 1.0:
            retry_after = max(1, math.ceil((1.0 - level) * 60.0 / self.per_minute))
            raise ApiError(
                RATE_LIMITED,
                f"too many failed authentications from this address; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )

    def failed(self, address: str, now: float | None = None) -> None:
        """Count one failed authentication of the address."""
        now = time.monotonic() if now is None else now
        if len(self._buckets) >= MAX_ADDRESSES:
            self._forget_recovered(now)
        self._buckets[address] = (max(0.0, self._level(address, now) - 1.0), now)

    def _forget_recovered(self, now: float) -> None:
        for address in [a for a in self._buckets if self._level(a, now) >= self.burst]:
            del self._buckets[address]
        while len(self._buckets) >= MAX_ADDRESSES:  # all still failing: the oldest go
            del self._buckets[next(iter(self._buckets))]


@dataclass(frozen=True)
class Gate:
    """Authenticates a request: its address's failures first, then its token or its session
    cookie (and the CSRF token of a change), looked up with `pool` in carrier scope. The one
    place a caller is recognised."""

    pool: ScopedPool
    pepper: str
    lifetime: TokenLifetime
    failures: FailedAuthentications
    trusted_proxies: tuple[IpNetwork, ...] = ()
    sessions: SessionRules = field(default_factory=SessionRules)
    # Failed sign-ins per account (its email), beside those of the address.
    accounts: FailedAuthentications = field(
        default_factory=lambda: FailedAuthentications(per_minute=2.0, burst=5)
    )
    # Tokens verified lately (the store's, which forgets a revoked one).
    memory: Memory | None = None

    def address(self, request: web.Request) -> str:
        """The caller's address, refused at once while it has failed too often."""
        address = client_address(request, self.trusted_proxies)
        self.failures.check(address)
        return address

    async def principal(self, request: web.Request) -> Principal:
        """The caller, or the error to answer (429 while its address has failed too often).
        A request with a token is the token's, even if it also carries a cookie."""
        address = self.address(request)
        header = request.headers.get("Authorization")
        cookie = request.cookies.get(SESSION_COOKIE)
        try:
            if header is None and cookie:
                principal = await authenticate_session(
                    self.pool, self.pepper, cookie, self.sessions
                )
                check_csrf(request, cookie, self.pepper)
                return principal
            return await authenticate(self.pool, self.pepper, header, self.lifetime, self.memory)
        except ApiError as error:
            if error.code == ErrorCode.UNAUTHORIZED and (header or cookie):  # a secret was tried
                self.failures.failed(address)
            raise


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
