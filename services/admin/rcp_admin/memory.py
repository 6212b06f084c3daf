"""What an admin instance keeps in memory between requests: answers of tenants' reads
(`GET /receptionist/keys`) and the tokens it has verified, each for at most `ttl_s` seconds.

Kept only while the instance hears every tenant's config-changed announcements (`listening`):
a write through this instance forgets its tenants' answers once committed, before it answers
(its caller reads its own write); one through another instance is forgotten when its
announcement arrives. Whatever an announcement cannot say (a change it does not announce, an
announcement lost while NATS was away) is forgotten after `ttl_s` anyway: with `ttl_s` at
most the configuration's 1 s propagation, no instance answers older than that promise.

A token revoked through this instance is refused at once; through another, within `ttl_s`.
A token is never kept past its expiry; the tokens of a tenant are forgotten when the tenant
changes (its suspension).

Each tenant (and the tokens) has a generation, moved on by every forget: an answer read
before a forget is not kept after it, even if its read ends later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from nats.aio.client import Client as NatsClient
from rcp.config_events import config_changes
from rcp.contracts import ConfigChanged
from rcp.messaging import reached_server

T = TypeVar("T")

# Past it, the entries whose time is up are dropped before a new one is kept.
MAX_ENTRIES = 100_000


@dataclass
class _Entry:
    until: float  # time.monotonic() past which it is not used
    generation: int
    value: Any


@dataclass
class Memory:
    """Reads' answers per tenant and verified tokens, kept `ttl_s` seconds while `listening`."""

    ttl_s: float = 1.0
    listening: bool = False
    _answers: dict[tuple[UUID, str], _Entry] = field(default_factory=dict)
    _reading: dict[tuple[UUID, str, int], asyncio.Future[Any]] = field(default_factory=dict)
    _generations: dict[UUID, int] = field(default_factory=dict)
    _tokens: dict[bytes, _Entry] = field(default_factory=dict)
    _token_generation: int = 0

    @property
    def active(self) -> bool:
        """Whether anything is kept: announcements are heard and `ttl_s` is above 0."""
        return self.listening and self.ttl_s > 0

    async def read(self, tenant_id: UUID, name: str, read: Callable[[], Awaitable[T]]) -> T:
        """The answer `read` gives for one tenant (`name`: which read), kept for `ttl_s`;
        concurrent callers share one read."""
        if not self.active:
            return await read()
        key = (tenant_id, name)
        generation = self._generations.get(tenant_id, 0)
        entry = self._answers.get(key)
        if entry is not None and entry.generation == generation and time.monotonic() < entry.until:
            value: T = entry.value
            return value
        flight = (tenant_id, name, generation)
        pending = self._reading.get(flight)
        if pending is not None:
            shared: T = await asyncio.shield(pending)
            return shared
        started = time.monotonic()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._reading[flight] = future
        try:
            value = await read()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self._reading.pop(flight, None)
        future.set_result(value)
        if self._generations.get(tenant_id, 0) == generation:
            self._prune(self._answers)
            self._answers[key] = _Entry(started + self.ttl_s, generation, value)
        return value

    def forget_tenant(self, tenant_id: UUID, tokens: bool = False) -> None:
        """Forget the tenant's answers (`tokens`: and its verified tokens)."""
        self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1
        for key in [k for k in self._answers if k[0] == tenant_id]:
            del self._answers[key]
        if tokens:
            self._forget_tokens(lambda principal: principal.tenant_id == tenant_id)

    def forget_token(self, token_id: UUID) -> None:
        """Forget a token (revoked): it is looked up again, and refused."""
        self._forget_tokens(lambda principal: principal.token_id == token_id)

    def _forget_tokens(self, which: Callable[[Any], bool]) -> None:
        self._token_generation += 1
        for digest in [d for d, e in self._tokens.items() if which(e.value)]:
            del self._tokens[digest]

    def token_generation(self) -> int:
        """Taken before a token's lookup, given back to `remember_token`."""
        return self._token_generation

    def token(self, digest: bytes) -> Any | None:
        """The principal of a token verified less than `ttl_s` ago (by its keyed hash)."""
        if not self.active:
            return None
        entry = self._tokens.get(digest)
        if entry is None or time.monotonic() >= entry.until:
            return None
        return entry.value

    def remember_token(
        self, digest: bytes, principal: Any, expires_in_s: float, generation: int
    ) -> None:
        """Keep a verified token's principal, at most `ttl_s` and never past its expiry
        (`expires_in_s` from the lookup), unless a token was forgotten since its lookup."""
        if not self.active or generation != self._token_generation:
            return
        self._prune(self._tokens)
        until = time.monotonic() + min(self.ttl_s, expires_in_s)
        self._tokens[digest] = _Entry(until, generation, principal)

    @staticmethod
    def _prune(entries: dict[Any, _Entry]) -> None:
        if len(entries) < MAX_ENTRIES:
            return
        now = time.monotonic()
        for key in [k for k, e in entries.items() if e.until <= now]:
            del entries[key]
        while len(entries) >= MAX_ENTRIES:
            del entries[next(iter(entries))]

    def heard(self, event: ConfigChanged) -> None:
        """A tenant's configuration changed (through any instance): forget its answers, and
        its tokens if the tenant itself changed (suspended, deleted)."""
        self.forget_tenant(event.tenant_id, tokens=event.entity == "tenant")


@asynccontextmanager
async def listening(memory: Memory, nats: NatsClient) -> AsyncIterator[None]:
    """Keep answers in `memory` while every config-changed announcement is heard (until the
    block ends)."""
    async with config_changes(nats, memory.heard):
        await reached_server(nats)  # subscribed on the server before anything is kept
        memory.listening = True
        try:
            yield
        finally:
            memory.listening = False
