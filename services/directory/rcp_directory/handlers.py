"""The directory's NATS endpoints: contracts to domain calls and back, counted and timed."""

from __future__ import annotations

import base64
import binascii
import json
import time
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _json_string
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


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


# A first page's cursor is the same for every caller who types the same digits.
@lru_cache(maxsize=4096)
def encode_cursor(position: Position) -> str:
    """An opaque cursor naming where the next page starts.

    It holds the rank of the page's last match (kind, last name, first name, number), not an
    offset, so that the next page stays right when the index is rebuilt in between: URL-safe
    base64 of `json.dumps(position)`, written here from its parts (a third of the cost).
    """
    kind, last, first, number = position
    text = f"[{int(kind)}, {_json_string(last)}, {_json_string(first)}, {_json_string(number)}]"
    return binascii.b2a_base64(text.encode(), newline=False).translate(_URL_SAFE).decode()


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
