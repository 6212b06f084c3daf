"""Tenants' configurations: read from PostgreSQL, cached, refreshed when the admin changes them.

A call finds its tenant by the number it dialled (`phone_numbers`) and runs on the tenant's
`TenantConfig`, loaded in one transaction on the tenant's first call and kept in memory. Every
`rcp.config.<tenant>.changed` drops what is cached for that tenant; if the tenant has calls
under way, its configuration is loaded again at once and handed to each of them (the flow's
`ConfigReloaded`), so that their next decisions use it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol
from uuid import UUID

import asyncpg
import nats.errors
import structlog
from rcp import config_store
from rcp.callflow import config
from rcp.callflow.snapshot import build
from rcp.db.pool import DATABASE_FAILURES

# PostgreSQL or NATS not answering now: logged, tried again later.
_RELOAD_FAILURES: tuple[type[Exception], ...] = (*DATABASE_FAILURES, nats.errors.Error)

log = structlog.get_logger(__name__)


class TenantSource(Protocol):
    """Where numbers' tenants and tenants' configurations are read from."""

    async def tenant_of(self, number: str) -> UUID | None:
        """The active tenant a phone number is routed to, or None."""

    async def load(self, tenant_id: UUID) -> config.TenantConfig | None:
        """The tenant's whole configuration; None if it is gone or suspended."""


class PostgresTenants:
    """Reads numbers and configurations from the tables the admin service writes."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.reads = 0
        """How many numbers and configurations were read (for tests and logs)."""

    async def tenant_of(self, number: str) -> UUID | None:
        """The active tenant a phone number is routed to, or None."""
        self.reads += 1
        row = await self._pool.fetchrow(config_store.TENANT_OF_NUMBER, number)
        if row is None or row["status"] != "active":
            return None
        tenant_id: UUID = row["id"]
        return tenant_id

    async def load(self, tenant_id: UUID) -> config.TenantConfig | None:
        """The tenant's whole configuration as one snapshot; None if it is gone or suspended."""
        self.reads += 1
        async with (
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            snapshot = await config_store.read_snapshot(connection, tenant_id)
        return build(tenant_id, snapshot)


class StoredTenants:
    """Reads numbers and configurations from the configuration store (`rcp.config_store`),
    which the admin service writes: no PostgreSQL on the call path. Only what the store lacks
    (or cannot answer) is read from PostgreSQL (`fallback`)."""

    def __init__(self, store: config_store.ConfigStore, fallback: PostgresTenants) -> None:
        self.store = store
        self.fallback = fallback

    async def tenant_of(self, number: str) -> UUID | None:
        """The tenant the store routes a number to (its configuration says if it is active)."""
        found = await config_store.or_missing(
            self.store.tenant_of(number), log, "tenants.store_unavailable", number=number
        )
        if isinstance(found, config_store.Missing):
            return await self.fallback.tenant_of(number)
        return found

    async def load(self, tenant_id: UUID) -> config.TenantConfig | None:
        """The tenant's configuration from the store; None if it is gone or suspended."""
        return await self.store.snapshot_or(
            tenant_id,
            lambda snapshot: build(tenant_id, snapshot),
            self.fallback.load,
            log,
            "tenants.store_unavailable",
        )


ConfigListener = Callable[[config.TenantConfig], None]


class TenantConfigs:
    """The configurations of the tenants that have calls, cached; an async context manager.

    `max_tenants` bounds the cache: the least recently used tenants without calls under way
    are forgotten and loaded again when they next get a call.
    """

    def __init__(
        self,
        source: TenantSource,
        max_tenants: int = 10_000,
        country_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self._source = source
        self._max_tenants = max_tenants
        self._country_changed = country_changed
        # The country of each virtual extension's outside number when its tenant was last
        # loaded: a number moved to another country is logged and counted (an alert).
        self._countries: dict[UUID, dict[str, str | None]] = {}
        self._configs: OrderedDict[UUID, config.TenantConfig] = OrderedDict()
        self._numbers: dict[str, UUID] = {}
        self._loading: dict[UUID, asyncio.Task[config.TenantConfig | None]] = {}
        self._watchers: dict[UUID, dict[object, ConfigListener]] = {}
        self._refreshes: set[asyncio.Task[None]] = set()
        self._changed_listeners: list[Callable[[UUID], None]] = []
        self.loads = 0
        """How many configurations were read from the database (for tests and logs)."""

    @property
    def source(self) -> TenantSource:
        """Where configurations are read from."""
        return self._source

    async def __aenter__(self) -> TenantConfigs:
        return self

    async def __aexit__(self, *exc: object) -> None:
        tasks = [*self._refreshes, *self._loading.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def on_changed(self, listener: Callable[[UUID], None]) -> None:
        """Call `listener(tenant_id)` whenever a tenant's configuration changes."""
        self._changed_listeners.append(listener)

    async def for_number(self, number: str) -> config.TenantConfig | None:
        """The configuration of the tenant a dialled number belongs to, or None."""
        tenant_id = self._numbers.get(number)
        if tenant_id is None:
            tenant_id = await self._source.tenant_of(number)
            if tenant_id is None:
                return None
            self._numbers[number] = tenant_id
        return await self.get(tenant_id)

    async def get(self, tenant_id: UUID) -> config.TenantConfig | None:
        """The tenant's configuration, loaded on first use (one load for concurrent callers)."""
        found = self._configs.get(tenant_id)
        if found is not None:
            self._configs.move_to_end(tenant_id)
            return found
        loading = self._loading.get(tenant_id)
        if loading is None:
            loading = asyncio.create_task(self._load(tenant_id))
            self._loading[tenant_id] = loading
        # Shielded: a caller who hangs up does not cancel a load others wait for.
        return await asyncio.shield(loading)

    async def _load(self, tenant_id: UUID) -> config.TenantConfig | None:
        try:
            found = await self._source.load(tenant_id)
            self.loads += 1
        finally:
            self._loading.pop(tenant_id, None)
        if found is not None:
            self._configs[tenant_id] = found
            self._evict()
            self._compare_countries(found)
        return found

    def _compare_countries(self, tenant: config.TenantConfig) -> None:
        countries = {
            e.number: verdict.destination.region
            for e in tenant.extensions.values()
            if (verdict := tenant.verdict(e)) is not None
        }
        before = self._countries.get(tenant.tenant_id, {})
        for number, country in countries.items():
            if number in before and before[number] != country:
                log.warning(
                    "tenants.destination_country_changed",
                    tenant_id=str(tenant.tenant_id),
                    extension=number,
                    before=before[number],
                    after=country,
                )
                self._country_changed()
        self._countries[tenant.tenant_id] = countries

    def _evict(self) -> None:
        for tenant_id in list(self._configs):
            if len(self._configs) <= self._max_tenants:
                return
            if tenant_id not in self._watchers:
                del self._configs[tenant_id]
                self._countries.pop(tenant_id, None)

    def forget_number(self, number: str) -> None:
        """The number's routing changed: look it up again on its next call."""
        self._numbers.pop(number, None)

    def watch(self, tenant_id: UUID, key: object, listener: ConfigListener) -> None:
        """Tell `listener` of each new configuration of the tenant until `unwatch(key)`."""
        self._watchers.setdefault(tenant_id, {})[key] = listener

    def unwatch(self, tenant_id: UUID, key: object) -> None:
        """Stop telling a call of new configurations."""
        listeners = self._watchers.get(tenant_id)
        if listeners is not None:
            listeners.pop(key, None)
            if not listeners:
                del self._watchers[tenant_id]

    def changed(self, tenant_id: UUID) -> None:
        """The tenant's configuration changed: forget it, and reload it for its calls."""
        self._configs.pop(tenant_id, None)
        for number in [n for n, t in self._numbers.items() if t == tenant_id]:
            del self._numbers[number]
        for listener in self._changed_listeners:
            listener(tenant_id)
        if tenant_id in self._watchers:
            task = asyncio.create_task(self._refresh(tenant_id))
            self._refreshes.add(task)
            task.add_done_callback(self._refreshes.discard)

    async def _refresh(self, tenant_id: UUID) -> None:
        # A load already under way may have read the rows from before the change: wait for
        # it, then read again.
        loading = self._loading.get(tenant_id)
        if loading is not None:
            with contextlib.suppress(Exception):
                await loading
            self._configs.pop(tenant_id, None)
        try:
            found = await self.get(tenant_id)
        except _RELOAD_FAILURES as error:
            log.warning("tenants.reload_failed", tenant_id=str(tenant_id), error=repr(error))
            return
        if found is None:  # suspended or deleted: calls under way keep what they have
            return
        for listener in list(self._watchers.get(tenant_id, {}).values()):
            listener(found)


async def follow_store(store: config_store.ConfigStore, configs: TenantConfigs) -> None:
    """Keep `configs` up to date with the store, until cancelled: a tenant whose snapshot
    changes is `changed` (its calls get the new configuration), a number whose routing changes
    is looked up again. (Config-changed events do the same, should the watch lag.)"""
    async for change in store.changes():  # what it held before: the cache is not older
        if change.tenant_id is not None:
            configs.changed(change.tenant_id)
        elif change.number is not None:
            configs.forget_number(change.number)
