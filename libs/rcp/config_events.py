"""Config-changed events: the one way a committed configuration change reaches the caches.

Admin publishes `ConfigChanged` after each configuration write has committed; every instance
of every service that caches a tenant's configuration (stasis, directory) subscribes without
a queue group, so that each one hears every change. Readers also refresh on their own
schedule, so a lost event delays a change, it never loses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from rcp import subjects
from rcp.contracts import ConfigChanged
from rcp.messaging import NatsProbe
from rcp.telemetry import Metrics

if TYPE_CHECKING:
    from rcp.config_store import Encoded, Snapshot

log = structlog.get_logger(__name__)

FLUSH_TIMEOUT_S = 2
"""How long a write waits for its announcement to reach the server before going on."""


class ConfigPublisher(Protocol):
    """Tells the other services that a tenant's configuration changed."""

    async def changed(
        self,
        tenant_id: UUID,
        entity: str,
        key: str | None,
        snapshot: Snapshot | Encoded | None = None,
    ) -> None:
        """Announce one committed change (`snapshot`: the tenant's configuration as the
        change's own transaction read it, for a publisher that stores it)."""


class NatsConfigPublisher:
    """Publishes config-changed on NATS; a failure is logged and counted, never fatal."""

    def __init__(self, nats: NatsClient, metrics: Metrics) -> None:
        self._nats = nats
        self._metrics = metrics
        # Proves each announcement reached the server: a message of its own sent after it,
        # come back (not `flush()` with a time-out, which leaves nats-py deaf after a stall:
        # docs/nats-client.md).
        self._reached = NatsProbe(nats)

    async def changed(
        self, tenant_id: UUID, entity: str, key: str | None, snapshot: object = None
    ) -> None:
        """Announce a committed change of one tenant's configuration (`snapshot` unused)."""
        event = ConfigChanged(tenant_id=tenant_id, entity=entity, key=key)  # type: ignore[arg-type]
        try:
            await self._nats.publish(
                subjects.config_changed(tenant_id), event.model_dump_json().encode()
            )
            # On the server before the write answers: whoever reads the answer and then
            # listens sees only later changes, and a crash right after the answer loses no
            # announcement.
            await self._reached.check(FLUSH_TIMEOUT_S)
        except Exception as error:  # the write is committed; readers also refresh periodically
            self._metrics.nats_errors.labels(kind=type(error).__name__).inc()
            log.warning(
                "admin.config_changed_not_published", tenant_id=str(tenant_id), error=repr(error)
            )


def parse_config_changed(subject: str, data: bytes) -> ConfigChanged | None:
    """The event a message carries, or None (logged) if it is not one for its subject's tenant."""
    tenant_id = subjects.config_changed_tenant(subject)
    try:
        event = ConfigChanged.model_validate_json(data)
    except ValidationError as error:
        log.warning("config.malformed_change", subject=subject, error=str(error))
        return None
    if tenant_id != event.tenant_id:
        log.warning("config.unexpected_subject", subject=subject, tenant_id=str(event.tenant_id))
        return None
    return event


@asynccontextmanager
async def config_changes(
    nats: NatsClient, on_change: Callable[[ConfigChanged], None]
) -> AsyncIterator[Subscription]:
    """Call `on_change` with every tenant's config-changed events (no queue group) until the
    block ends, then unsubscribe."""

    async def received(msg: Msg) -> None:
        event = parse_config_changed(msg.subject, msg.data)
        if event is not None:
            log.debug(
                "config.changed", tenant_id=str(event.tenant_id), entity=event.entity, key=event.key
            )
            on_change(event)

    subscription = await nats.subscribe(subjects.CONFIG_CHANGED_ALL, cb=received)
    try:
        yield subscription
    finally:
        await subscription.unsubscribe()
