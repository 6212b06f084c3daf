"""Asking the directory service for the extensions whose names match keypad digits
(`rcp.directory.<tenant>.search`): what a caller's dial by name asks, in stasis, and what the
admin's menu simulator asks the same way."""

from __future__ import annotations

from uuid import UUID

from nats.aio.client import Client as NatsClient

from rcp import subjects
from rcp.contracts.directory import SearchRequest, SearchResult
from rcp.errors import ErrorCode, RemoteError
from rcp.messaging import request_within

# Keys that spell no name (0, 1, * or too few of them) are the caller's mistake, not the
# directory's: the caller hears "no match" and tries again, as for a name nobody has.
SPELLS_NOTHING = frozenset(
    {ErrorCode.INVALID_DIGITS, ErrorCode.TOO_FEW_DIGITS, ErrorCode.EMPTY_INPUT}
)


async def search_names(
    nc: NatsClient,
    tenant_id: UUID,
    digits: str,
    page_size: int,
    cursor: str | None = None,
    *,
    scope: str = "",
    attempt_s: float = 1.5,
    budget_s: float = 2.5,
) -> SearchResult:
    """One page of matches for digits the caller has finished typing; digits that spell
    nothing find nobody (an empty page). Raises what `request_within` raises otherwise."""
    ask = SearchRequest(
        tenant_id=tenant_id, digits=digits, complete=True, page_size=page_size, cursor=cursor
    )
    try:
        return await request_within(
            nc,
            subjects.DIRECTORY_SEARCH.subject(tenant_id, scope),
            ask,
            SearchResult,
            attempt_s=attempt_s,
            budget_s=budget_s,
        )
    except RemoteError as error:
        if error.code in SPELLS_NOTHING:
            return SearchResult(matches=(), total=0)
        raise
