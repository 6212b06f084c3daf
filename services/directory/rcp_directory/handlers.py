"""The directory's NATS endpoints: contracts to domain calls and back, counted and timed."""

from __future__ import annotations

import base64
import binascii
import json
import time
from functools import lru_cache
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

from rcp_directory.errors import InvalidCursor
from rcp_directory.index import Found, Kind, Listing, Mode, Position
from rcp_directory.metrics import DirectoryMetrics, LookupResult
from rcp_directory.service import Directory

_MODES = {
    SearchBy.LAST_NAME: Mode.LAST,
    SearchBy.FIRST_NAME: Mode.FIRST,
    SearchBy.EITHER: Mode.EITHER,
}


# A first page's cursor is the same for every caller who types the same digits.
@lru_cache(maxsize=4096)
def encode_cursor(position: Position) -> str:
    """An opaque cursor naming where the next page starts.

    It holds the rank of the page's last match (kind, last name, first name, number), not an
    offset, so that the next page stays right when the index is rebuilt in between.
    """
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_cursor(cursor: str) -> Position:
    """The position a cursor of `encode_cursor` holds; `InvalidCursor` for anything else."""
    try:
        kind, last, first, number = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as error:
        raise InvalidCursor from error
    if not (
        isinstance(kind, int)
        and kind in tuple(Kind)
        and all(isinstance(text, str) for text in (last, first, number))
    ):
        raise InvalidCursor
    return (kind, last, first, number)


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


def search_result_json(found: Found) -> bytes:
    """A found page as the `SearchResult` JSON pydantic would write, from its encoded matches."""
    cursor = "null" if found.next_after is None else f'"{encode_cursor(found.next_after)}"'
    return b'{"schema_version":%d,"matches":%b,"total":%d,"next_cursor":%b}' % (
        SCHEMA_VERSION,
        found.matches_json,
        found.total,
        cursor.encode(),
    )


# How lookups are counted, by the number of entries they found (2: several), then errors.
_OUTCOMES = (LookupResult.NONE, LookupResult.ONE, LookupResult.SEVERAL, LookupResult.ERROR)
_ERROR = 3


class DirectoryHandlers:
    """Typed handlers of the search and reverse endpoints (see `rcp.messaging.endpoint`)."""

    def __init__(self, directory: Directory, metrics: DirectoryMetrics) -> None:
        self._directory = directory
        # The labelled children, looked up once rather than on every lookup, by `_OUTCOMES`.
        self._lookups = {
            endpoint: tuple(
                metrics.lookups.labels(endpoint=endpoint, result=outcome.value)
                for outcome in _OUTCOMES
            )
            for endpoint in ("search", "reverse")
        }
        self._durations = {
            endpoint: metrics.lookup_duration.labels(endpoint=endpoint)
            for endpoint in ("search", "reverse")
        }

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
            self._count("search", _ERROR, started)
            raise
        self._count("search", min(found.total, 2), started)
        return Encoded(search_result_json(found))

    async def reverse(self, request: ReverseRequest) -> ReverseResult:
        """Answer a reverse lookup: the entry on that number, or none."""
        started = time.perf_counter()
        try:
            listing = await self._directory.reverse(request.tenant_id, request.number)
        except Exception:
            self._count("reverse", _ERROR, started)
            raise
        self._count("reverse", 0 if listing is None else 1, started)
        return ReverseResult(entry=None if listing is None else _entry(listing))

    def _count(self, endpoint: str, outcome: int, started: float) -> None:
        """Count a lookup by its outcome (an index of `_OUTCOMES`) and time it."""
        self._lookups[endpoint][outcome].inc()
        self._durations[endpoint].observe(time.perf_counter() - started)
