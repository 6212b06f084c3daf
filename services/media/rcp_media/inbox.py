"""Where audio to ingest waits: the JetStream object store requesters put it in."""

from __future__ import annotations

import contextlib
from pathlib import Path

from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore


class NatsInbox:
    """The inbox on a JetStream object store (`rcp.media_client.media_inbox`)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def size(self, name: str) -> int | None:
        """The object's size from its metadata, without reading it."""
        try:
            info = await self._store.get_info(name)
        except NotFoundError:
            return None
        return int(info.size or 0)

    async def fetch(self, name: str, destination: Path) -> None:
        """Stream the object's chunks into `destination` (its digest is checked on the way)."""
        with destination.open("wb") as written:
            await self._store.get(name, writeinto=written)

    async def remove(self, name: str) -> None:
        """Delete the object."""
        with contextlib.suppress(NotFoundError):
            await self._store.delete(name)
