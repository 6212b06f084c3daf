"""Dial by name through the directory service (`rcp.directory.<tenant>.search`): the
DirectoryPort."""

from __future__ import annotations

from uuid import UUID

from nats.aio.client import Client as NatsClient
from rcp import subjects
from rcp.callflow.events import NameMatch
from rcp.contracts.directory import SearchRequest, SearchResult
from rcp.errors import ErrorCode, RemoteError
from rcp.messaging import request_within

from rcp_stasis.ports import DirectoryPage

# Keys that spell no name (0, 1, * or too few of them) are the caller's mistake, not the
# directory's: the caller hears "no match" and tries again, as for a name nobody has.
SPELLS_NOTHING = frozenset(
    {ErrorCode.INVALID_DIGITS, ErrorCode.TOO_FEW_DIGITS, ErrorCode.EMPTY_INPUT}
)


class NatsDirectory:
    """Asks the directory service over NATS request/reply."""

    def __init__(
        self,
        nc: NatsClient,
        scope: str = "",
        timeout_s: float = 1.5,
        budget_s: float = 2.5,
    ) -> None:
        self._nc = nc
        self._scope = scope
        self._timeout_s = timeout_s
        self._budget_s = budget_s

    async def search(
        self, tenant_id: UUID, digits: str, page_size: int, cursor: str | None = None
    ) -> DirectoryPage:
        """One page of matches; the flow has already decided that entry is complete."""
        ask = SearchRequest(
            tenant_id=tenant_id,
            digits=digits,
            complete=True,
            page_size=page_size,
            cursor=cursor,
        )
        try:
            result = await request_within(
                self._nc,
                subjects.DIRECTORY_SEARCH.subject(tenant_id, self._scope),
                ask,
                SearchResult,
                attempt_s=self._timeout_s,
                budget_s=self._budget_s,
            )
        except RemoteError as error:
            if error.code in SPELLS_NOTHING:
                return DirectoryPage((), 0)
            raise
        matches = tuple(
            NameMatch(m.number, m.display_name, m.name_prompt_id) for m in result.matches
        )
        return DirectoryPage(matches, result.total, result.next_cursor)
