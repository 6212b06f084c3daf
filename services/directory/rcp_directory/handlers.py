"""The directory's NATS endpoints: contracts to domain calls and back, counted and timed."""

from __future__ import annotations

import time
from typing import Any

from rcp.contracts import SCHEMA_VERSION
from rcp.contracts.directory import (
    DirectoryEntry,
    ReverseRequest,
    ReverseResult,
    SearchBy,
    SearchRequest,
    SearchResult,
)
from rcp.messaging import Encoded

from rcp_directory.cursor import decode_cursor, encode_cursor
from rcp_directory.index import Found, Listing, Mode
from rcp_directory.metrics import DirectoryMetrics, LookupResult
from rcp_directory.service import Directory

# The cursor's functions are the endpoints' too: a reply's `next_cursor` is `encode_cursor`'s.
__all__ = ["DirectoryHandlers", "decode_cursor", "encode_cursor", "search_result_json"]

_MODES = {
    SearchBy.LAST_NAME: Mode.LAST,
    SearchBy.FIRST_NAME: Mode.FIRST,
    SearchBy.EITHER: Mode.EITHER,
}


def _fields(listing: Listing) -> dict[str, Any]:
    """What an answer says of an extension."""
    return {
        "number": listing.number,
        "first_name": listing.first_name,
        "last_name": listing.last_name,
        "display_name": listing.display_name,
        "name_prompt_id": listing.name_prompt_id,
    }


def _entry(listing: Listing) -> DirectoryEntry:
    return DirectoryEntry(**_fields(listing))


_RESULT = b'{"schema_version":%d,"matches":%%b,"total":%%d,"next_cursor":%%b}' % SCHEMA_VERSION


def search_result_json(found: Found) -> bytes:
    """A found page as the `SearchResult` JSON pydantic would write, from its encoded matches."""
    cursor = b"null" if found.next_cursor is None else b'"%b"' % found.next_cursor
    return _RESULT % (found.matches_json, found.total, cursor)


# How lookups are counted (`Lookups.record`): by the number of entries found, 2 for several.
_ERROR = tuple(LookupResult).index(LookupResult.ERROR)


class DirectoryHandlers:
    """Typed handlers of the search and reverse endpoints (see `rcp.messaging.endpoint`)."""

    def __init__(self, directory: Directory, metrics: DirectoryMetrics) -> None:
        self._directory = directory
        self._searches = metrics.searches
        self._reverses = metrics.reverses

    async def search(self, request: SearchRequest) -> Encoded[SearchResult]:
        """Answer a search: one page of matches, their total, the next page's cursor.

        The reply is assembled from each entry's JSON, encoded when its index was built."""
        started = time.perf_counter()
        try:
            after = None if request.cursor is None else decode_cursor(request.cursor)
            found = await self._directory.search(
                request.tenant_id,
                request.digits,
                _MODES[request.by],
                complete=request.complete,
                limit=request.page_size,
                after=after,
            )
        except Exception:
            self._searches.record(_ERROR, time.perf_counter() - started)
            raise
        self._searches.record(min(found.total, 2), time.perf_counter() - started)
        return Encoded(search_result_json(found))

    async def reverse(self, request: ReverseRequest) -> ReverseResult:
        """Answer a reverse lookup: the entry on that number, or none."""
        started = time.perf_counter()
        try:
            listing = await self._directory.reverse(request.tenant_id, request.number)
        except Exception:
            self._reverses.record(_ERROR, time.perf_counter() - started)
            raise
        self._reverses.record(0 if listing is None else 1, time.perf_counter() - started)
        return ReverseResult(entry=None if listing is None else _entry(listing))
