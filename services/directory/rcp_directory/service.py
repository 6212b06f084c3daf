"""The directory's logic: tenants' indexes kept in memory, and the lookups answered from them.

Indexes are loaded lazily, on a tenant's first lookup, and rebuilt whole when its
configuration changes. A lookup never waits for a rebuild: the previous index answers until
the new one is swapped in. Memory is bounded: past `max_bytes`, the least recently used
tenants are dropped (they are loaded again when next asked for), which is what lets one
instance serve a carrier's 10,000 tenants whatever their sizes.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from uuid import UUID

import structlog
from rcp.errors import ErrorCode, ReceptionistError

from rcp_directory.cursor import Position
from rcp_directory.errors import NoSuchTenant, TenantSuspended, TooFewDigits
from rcp_directory.index import Found, Listing, Mode, TenantIndex
from rcp_directory.keypad import parse_digits
from rcp_directory.metrics import DirectoryMetrics
from rcp_directory.ports import DirectorySource, TenantState

log = structlog.get_logger(__name__)

UNSERVED_TTL_S = 5.0
"""How long "no such tenant" or "suspended" is believed without an event saying otherwise."""

RETRY_AFTER_S = 1.0
"""After a failed background reload, the stale index answers this long before another try."""

_SLOT_BYTES = 400
"""Memory a tenant costs beyond its index (cache entry, slot, tenant id), counted too, so
that a flood of lookups for unknown tenants cannot grow the cache without bound."""


@dataclass(slots=True)
class _Slot:
    state: TenantState
    index: TenantIndex
    expires_at: float
    nbytes: int


@dataclass(eq=False)
class IndexCache:
    """Tenants' indexes in memory: loaded once per tenant at a time, bounded, refreshed."""

    source: DirectorySource
    metrics: DirectoryMetrics
    _: KW_ONLY
    max_bytes: int
    max_age_s: float
    clock: Callable[[], float] = time.monotonic
    # By `UUID.int`: a UUID's hash and equality are Python code, run on every lookup.
    _slots: OrderedDict[int, _Slot] = field(default_factory=OrderedDict, init=False)
    _loads: dict[UUID, asyncio.Task[_Slot]] = field(default_factory=dict, init=False)
    _dirty: set[UUID] = field(default_factory=set, init=False)
    _bytes: int = field(default=0, init=False)
    _entries: int = field(default=0, init=False)

    @property
    def tenants(self) -> int:
        """Tenants held in memory."""
        return len(self._slots)

    @property
    def entries(self) -> int:
        """Listings held in memory, across tenants."""
        return self._entries

    @property
    def nbytes(self) -> int:
        """Memory held, as counted against the bound."""
        return self._bytes

    def answers_now(self, tenant_id: UUID | None) -> bool:
        """Whether `get` returns the tenant's state without waiting for a load."""
        slot = self._slots.get(tenant_id.int) if tenant_id is not None else None
        return slot is not None and (
            slot.state is TenantState.ACTIVE or self.clock() < slot.expires_at
        )

    def get_now(self, tenant_id: UUID) -> _Slot | None:
        """A tenant's slot if `get` would return it as it is (held, not expired), else None:
        a lookup's usual case, without a coroutine."""
        key = tenant_id.int
        slot = self._slots.get(key)
        if slot is None or self.clock() >= slot.expires_at:
            return None
        self._slots.move_to_end(key)
        return slot

    async def get(self, tenant_id: UUID) -> tuple[TenantState, TenantIndex]:
        """A tenant's state and index, loading it if it is not in memory."""
        slot = self._slots.get(tenant_id.int)
        if slot is not None:
            self._slots.move_to_end(tenant_id.int)
            if self.clock() < slot.expires_at:
                return slot.state, slot.index
            if slot.state is TenantState.ACTIVE:
                self._start_load(tenant_id)  # stale while it revalidates
                return slot.state, slot.index
        # shield: a caller that gives up does not cancel the load others may be awaiting.
        slot = await asyncio.shield(self._start_load(tenant_id))
        return slot.state, slot.index

    def invalidate(self, tenant_id: UUID) -> None:
        """The tenant's configuration changed: rebuild its index if it is in memory."""
        if tenant_id in self._loads:
            self._dirty.add(tenant_id)  # the load under way may have read the old rows
        elif tenant_id.int in self._slots:
            self._start_load(tenant_id)

    async def aclose(self) -> None:
        """Cancel the loads under way."""
        for task in list(self._loads.values()):
            task.cancel()
        await asyncio.gather(*self._loads.values(), return_exceptions=True)

    def _start_load(self, tenant_id: UUID) -> asyncio.Task[_Slot]:
        task = self._loads.get(tenant_id)
        if task is None:
            task = asyncio.create_task(self._load(tenant_id), name=f"directory-load-{tenant_id}")
            self._loads[tenant_id] = task
            task.add_done_callback(lambda done: self._load_done(tenant_id, done))
        return task

    def _load_done(self, tenant_id: UUID, task: asyncio.Task[_Slot]) -> None:
        self._loads.pop(tenant_id, None)
        # Retrieve the outcome, so that a background reload that failed (already logged) is
        # not reported again as "exception never retrieved".
        if not task.cancelled():
            task.exception()

    async def _load(self, tenant_id: UUID) -> _Slot:
        while True:
            self._dirty.discard(tenant_id)
            started = time.perf_counter()
            try:
                loaded = await self.source.load(tenant_id)
                # Building a large tenant's index takes a while: off the event loop, so that
                # other tenants' lookups are answered meanwhile.
                index = await asyncio.to_thread(TenantIndex, loaded.listings)
            except Exception as error:
                self.metrics.index_loads.labels(result="failed").inc()
                log.exception("directory.load_failed", tenant_id=str(tenant_id))
                stale = self._slots.get(tenant_id.int)
                if stale is not None:
                    stale.expires_at = self.clock() + RETRY_AFTER_S
                raise ReceptionistError(
                    ErrorCode.UNAVAILABLE,
                    "the tenant's directory cannot be read now",
                    {"tenant_id": str(tenant_id)},
                ) from error
            self.metrics.index_loads.labels(result="ok").inc()
            self.metrics.index_load_duration.observe(time.perf_counter() - started)
            if tenant_id not in self._dirty:
                break
        log.debug("directory.loaded", tenant_id=str(tenant_id), entries=len(index))
        return self._store(tenant_id, loaded.state, index)

    def _store(self, tenant_id: UUID, state: TenantState, index: TenantIndex) -> _Slot:
        ttl = self.max_age_s if state is TenantState.ACTIVE else UNSERVED_TTL_S
        slot = _Slot(state, index, self.clock() + ttl, index.nbytes + _SLOT_BYTES)
        self._drop(tenant_id)
        self._slots[tenant_id.int] = slot
        self._bytes += slot.nbytes
        self._entries += len(index)
        while self._bytes > self.max_bytes and len(self._slots) > 1:
            oldest = UUID(int=next(iter(self._slots)))
            self._drop(oldest)
            self.metrics.index_evictions.inc()
        self.metrics.index_tenants.set(len(self._slots))
        self.metrics.index_entries.set(self._entries)
        self.metrics.index_bytes.set(self._bytes)
        return slot

    def _drop(self, tenant_id: UUID) -> None:
        slot = self._slots.pop(tenant_id.int, None)
        if slot is not None:
            self._bytes -= slot.nbytes
            self._entries -= len(slot.index)


class Directory:
    """Dial-by-name lookups for any tenant."""

    def __init__(self, cache: IndexCache, min_digits: int) -> None:
        self._cache = cache
        self._min_digits = min_digits

    async def search(
        self,
        tenant_id: UUID,
        digits: str,
        mode: Mode,
        *,
        complete: bool,
        limit: int,
        after: Position | None = None,
    ) -> Found:
        """The tenant's listings whose name starts with the digits, best first, encoded."""
        digits = parse_digits(digits)
        if len(digits) < self._min_digits and not complete:
            raise TooFewDigits(len(digits), self._min_digits)
        slot = self._cache.get_now(tenant_id)
        if slot is not None and slot.state is TenantState.ACTIVE:
            index = slot.index
        else:
            index = await self._index(tenant_id)
        return index.search_json(digits, mode, limit, after)

    async def reverse(self, tenant_id: UUID, number: str) -> Listing | None:
        """The tenant's listing with this extension number, if it is reachable by name."""
        index = await self._index(tenant_id)
        return index.find(number)

    async def _index(self, tenant_id: UUID) -> TenantIndex:
        state, index = await self._cache.get(tenant_id)
        if state is TenantState.UNKNOWN:
            raise NoSuchTenant(tenant_id)
        if state is TenantState.SUSPENDED:
            raise TenantSuspended(tenant_id)
        return index
