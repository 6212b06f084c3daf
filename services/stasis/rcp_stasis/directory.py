"""Dial by name through the directory service (`rcp.directory.<tenant>.search`): the
DirectoryPort."""

from __future__ import annotations

from uuid import UUID

from nats.aio.client import Client as NatsClient
from rcp.callflow.events import NameMatch
from rcp.directory_client import search_names
from rcp.values import Value

from rcp_stasis.ports import DirectoryPage


class NatsDirectory(Value):
    """Asks the directory service over NATS request/reply (in the directory's `scope`), each
    try for at most `timeout_s` and all tries for at most `budget_s`."""

    nc: NatsClient
    scope: str = ""
    timeout_s: float = 1.5
    budget_s: float = 2.5

    async def search(
        self, tenant_id: UUID, digits: str, page_size: int, cursor: str | None = None
    ) -> DirectoryPage:
        """One page of matches; the flow has already decided that entry is complete."""
        result = await search_names(
            self.nc,
            tenant_id,
            digits,
            page_size,
            cursor,
            scope=self.scope,
            attempt_s=self.timeout_s,
            budget_s=self.budget_s,
        )
        matches = tuple(
            NameMatch(m.number, m.display_name, m.name_prompt_id) for m in result.matches
        )
        return DirectoryPage(matches, result.total, result.next_cursor)
