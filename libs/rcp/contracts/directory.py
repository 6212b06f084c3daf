"""Contracts of the directory service (dial by name): `rcp.directory.<tenant>.search` and
`.reverse`.

Errors come back as typed replies with these codes (`rcp.errors.ErrorCode`): `no_such_tenant`,
`tenant_suspended`, `empty_input`, `invalid_digits` (details name each key outside 2-9 and
its position), `too_few_digits`, `invalid_request` (a contract violation or a bad cursor),
`unavailable` (the tenant's directory cannot be read from the database now).
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from rcp.contracts import Message, TenantMessage

MAX_PAGE_SIZE = 100


class SearchBy(StrEnum):
    """Which name the caller spells."""

    LAST_NAME = "last_name"
    FIRST_NAME = "first_name"
    EITHER = "either"


class SearchRequest(TenantMessage):
    """Who in this tenant's directory has a name that starts with these keys?"""

    digits: str = Field(
        max_length=64,
        description="The keys the caller pressed, without the final # (2-9 only).",
    )
    by: SearchBy = SearchBy.EITHER
    complete: bool = Field(
        default=False,
        description=(
            "The caller ended entry early with #: search with fewer digits than the "
            "service's minimum (3 by default)."
        ),
    )
    page_size: int = Field(default=9, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(
        default=None,
        max_length=1024,
        description="`next_cursor` of the previous page; absent for the first page.",
    )


class DirectoryEntry(BaseModel):
    """An extension reachable by name (a value inside a result: no version of its own)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str
    first_name: str
    last_name: str
    display_name: str
    name_prompt_id: UUID | None = Field(
        default=None, description="The recorded name, if the extension has one."
    )


class SearchMatch(DirectoryEntry):
    """An entry a search found."""

    whole_name: bool = Field(
        description="The digits spell the start of the whole name (else of a later part)."
    )


class SearchResult(Message):
    """The matches on this page, best first, their total, and the next page's cursor."""

    matches: tuple[SearchMatch, ...]
    total: int = Field(ge=0)
    next_cursor: str | None = None


class ReverseRequest(TenantMessage):
    """Who is on this extension number?"""

    number: str = Field(pattern=r"^[0-9]{2,10}$")


class ReverseResult(Message):
    """The extension, or None when no extension of that number is reachable by name."""

    entry: DirectoryEntry | None = None
