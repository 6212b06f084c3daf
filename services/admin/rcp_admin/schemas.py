"""The admin API's wire format: request and response bodies, validated by pydantic.

The same models generate the OpenAPI document, so the contract and its checks never drift.
Their rules mirror the database's check constraints, so that bad input is refused with a
message naming its field before it ever reaches SQL.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    StringConstraints,
    field_validator,
)
from pydantic_core import core_schema
from rcp import vocabulary as v

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TIMEZONES = frozenset(available_timezones())


def closed(vocabulary: type[StrEnum]) -> GetPydanticSchema:
    """A field of one of the domain's vocabularies (`rcp.vocabulary`): checked and documented
    as its literal values (the same schema and messages as `Literal[...]`), handed to the
    code as the enum member."""
    values = [member.value for member in vocabulary]
    return GetPydanticSchema(
        lambda _source, _handler: core_schema.no_info_after_validator_function(
            vocabulary, core_schema.literal_schema(values)
        )
    )


def _not_null(value: object) -> object:
    """In a PATCH, null is refused for fields that always have a value: leave them out."""
    if value is None:
        raise ValueError("cannot be null: leave the field out to keep its value")
    return value


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _text(value: str) -> str:
    if _CONTROL_BUT_LINES.search(value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


E164 = Annotated[
    str,
    StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$"),
    Field(
        description="E.164 number: +, country code, subscriber number; no spaces",
        examples=["+33199000001"],
    ),
]
LocalNumber = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{2,10}$"),
    Field(description="2 to 10 digits, unique in the tenant's numbering plan", examples=["101"]),
]
Locale = Annotated[
    str, StringConstraints(pattern=r"^[a-z]{2,3}-[A-Z]{2}$"), Field(examples=["fr-FR"])
]
Digit = Annotated[str, StringConstraints(pattern=r"^[0-9]$")]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_no_control)
]
RequiredName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control),
]
DialString = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*/[^\s,&|]{1,200}$"),
    Field(description="An Asterisk dial string", examples=["PJSIP/alice", "Local/101@test-phones"]),
]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
    Field(examples=["demo"]),
]
Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{3,12}$")]
TtsText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
    AfterValidator(_text),
]
Voice = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+.:-]{1,64}$")]


class Body(BaseModel):
    """Base of every request body: unknown fields are refused, by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Out(BaseModel):
    """Base of every response body."""

    model_config = ConfigDict(frozen=True)


class Error(Out):
    """Every error answer."""

    code: str = Field(examples=["validation_failed"])
    message: str
    field: str | None = Field(
        default=None, description="The field to fix, dotted", examples=["number"]
    )
    details: dict[str, object] = Field(default_factory=dict)


# --- tenants -------------------------------------------------------------------------------

TenantStatus = Annotated[v.TenantStatus, closed(v.TenantStatus)]


class TenantCreate(Body):
    slug: Slug
    name: RequiredName
    locale: Locale = "fr-FR"
    timezone: str = "Europe/Paris"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value not in _TIMEZONES:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)")
        return value


class TenantPatch(Body):
    _required = field_validator("name", "locale", "timezone", "status")(_not_null)

    name: RequiredName | None = None
    locale: Locale | None = None
    timezone: str | None = None
    status: TenantStatus | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in _TIMEZONES:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)")
        return value


class Tenant(Out):
    id: UUID
    slug: str
    name: str
    locale: str
    timezone: str
    status: TenantStatus
    created_at: datetime
    updated_at: datetime


class TenantList(Out):
    items: list[Tenant]


# --- tokens --------------------------------------------------------------------------------


class TokenCreate(Body):
    name: RequiredName
    expires_at: datetime | None = None


class Token(Out):
    id: UUID
    scope: Annotated[v.TokenScope, closed(v.TokenScope)]
    tenant_id: UUID | None
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedToken(Token):
    token: str = Field(description="The token itself: shown this once, never again")


class TokenList(Out):
    items: list[Token]


# --- numbers -------------------------------------------------------------------------------


class NumberCreate(Body):
    e164: E164


class PhoneNumber(Out):
    e164: str
    created_at: datetime


class NumberList(Out):
    items: list[PhoneNumber]


# --- extensions ----------------------------------------------------------------------------

ExtensionKind = Annotated[v.ExtensionKind, closed(v.ExtensionKind)]


class ExtensionFields(Body):
    first_name: Name = ""
    last_name: Name = ""
    dial_string: DialString | None = None
    external_number: E164 | None = None
    voicemail_enabled: bool = True
    reachable_by_extension: bool = True
    reachable_by_name: bool = True


class ExtensionCreate(ExtensionFields):
    number: LocalNumber
    kind: ExtensionKind


class ExtensionPatch(Body):
    _required = field_validator(
        "number",
        "kind",
        "first_name",
        "last_name",
        "voicemail_enabled",
        "reachable_by_extension",
        "reachable_by_name",
    )(_not_null)

    number: LocalNumber | None = None
    kind: ExtensionKind | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    dial_string: DialString | None = None
    external_number: E164 | None = None
    voicemail_enabled: bool | None = None
    reachable_by_extension: bool | None = None
    reachable_by_name: bool | None = None


class Extension(Out):
    number: str
    kind: ExtensionKind
    first_name: str
    last_name: str
    dial_string: str | None
    external_number: str | None
    voicemail_enabled: bool
    reachable_by_extension: bool
    reachable_by_name: bool
    name_prompt_id: UUID | None
    created_at: datetime
    updated_at: datetime


class ExtensionList(Out):
    items: list[Extension]


# --- ring groups ---------------------------------------------------------------------------

NoAnswerAction = Annotated[v.NoAnswerAction, closed(v.NoAnswerAction)]
RingStrategy = Annotated[v.RingStrategy, closed(v.RingStrategy)]


class NoAnswer(Body):
    """What happens when nobody in the group answers."""

    action: NoAnswerAction = v.NoAnswerAction.MENU
    extension: LocalNumber | None = Field(
        default=None, description="For voicemail and extension: whose voicemail, or which extension"
    )


class RingGroupCreate(Body):
    number: LocalNumber
    name: RequiredName
    strategy: RingStrategy = v.RingStrategy.SIMULTANEOUS
    ring_seconds: int = Field(default=20, ge=5, le=300)
    members: list[LocalNumber] = Field(default_factory=list, max_length=100)
    no_answer: NoAnswer = NoAnswer()


class RingGroupPatch(Body):
    _required = field_validator(
        "number", "name", "strategy", "ring_seconds", "members", "no_answer"
    )(_not_null)

    number: LocalNumber | None = None
    name: RequiredName | None = None
    strategy: RingStrategy | None = None
    ring_seconds: int | None = Field(default=None, ge=5, le=300)
    members: list[LocalNumber] | None = Field(default=None, max_length=100)
    no_answer: NoAnswer | None = None


class RingGroup(Out):
    number: str
    name: str
    strategy: RingStrategy
    ring_seconds: int
    members: list[str]
    no_answer: NoAnswer
    created_at: datetime
    updated_at: datetime


class RingGroupList(Out):
    items: list[RingGroup]


# --- conference rooms ----------------------------------------------------------------------


class ConferenceRoomCreate(Body):
    number: LocalNumber
    name: RequiredName
    pin: Pin | None = None


class ConferenceRoomPatch(Body):
    _required = field_validator("number", "name")(_not_null)

    number: LocalNumber | None = None
    name: RequiredName | None = None
    pin: Pin | None = None


class ConferenceRoom(Out):
    number: str
    name: str
    pin: str | None
    created_at: datetime
    updated_at: datetime


class ConferenceRoomList(Out):
    items: list[ConferenceRoom]


# --- prompts -------------------------------------------------------------------------------


class TtsPrompt(Body):
    """Text to be spoken by text-to-speech."""

    text: TtsText
    language: Locale
    voice: Voice | None = None


class Prompt(Out):
    id: UUID
    source: Annotated[v.PromptSource, closed(v.PromptSource)]
    text: str | None
    language: str | None
    voice: str | None
    original_filename: str | None
    status: Annotated[v.PromptStatus, closed(v.PromptStatus)]
    error_code: str | None
    duration_ms: int | None
    created_at: datetime


class PromptList(Out):
    items: list[Prompt]


# --- receptionist and keys -----------------------------------------------------------------


class GreetingRef(Body):
    """An existing prompt."""

    prompt_id: UUID


class Receptionist(Out):
    greeting: Prompt | None
    language: str
    dial_extension_enabled: bool
    menu_timeout_s: int
    inter_digit_timeout_s: int
    menu_max_retries: int
    name_max_retries: int
    transfer_ring_s: int
    exhausted_extension: str | None = Field(
        description="Extension the call goes to after the last retry; null: goodbye and hang up"
    )


class ReceptionistPatch(Body):
    greeting: TtsPrompt | GreetingRef | None = None
    language: Locale | None = None
    dial_extension_enabled: bool | None = None
    menu_timeout_s: int | None = Field(default=None, ge=1, le=60)
    inter_digit_timeout_s: int | None = Field(default=None, ge=1, le=20)
    menu_max_retries: int | None = Field(default=None, ge=1, le=10)
    name_max_retries: int | None = Field(default=None, ge=1, le=10)
    transfer_ring_s: int | None = Field(default=None, ge=5, le=300)
    exhausted_extension: LocalNumber | None = None


TargetKind = Annotated[v.TargetKind, closed(v.TargetKind)]


class TransferTarget(Body):
    kind: TargetKind
    number: LocalNumber


class DialByName(Body):
    action: Literal["dial_by_name"]


class PlayAnnouncement(Body):
    action: Literal["play_announcement"]
    prompt: TtsPrompt | None = None
    prompt_id: UUID | None = None


class Transfer(Body):
    action: Literal["transfer"]
    target: TransferTarget


KeyAssignment = Annotated[DialByName | PlayAnnouncement | Transfer, Field(discriminator="action")]


class KeyTarget(Out):
    kind: TargetKind
    number: str
    name: str


class Key(Out):
    digit: str
    assigned: bool
    action: Annotated[v.KeyAction, closed(v.KeyAction)] | None = None
    prompt: Prompt | None = None
    target: KeyTarget | None = None


class KeyList(Out):
    items: list[Key] = Field(
        description="All ten keys, 0 to 9; unassigned ones have assigned=false"
    )


# --- directory -----------------------------------------------------------------------------


class DirectoryEntry(Out):
    number: str
    kind: ExtensionKind
    first_name: str
    last_name: str
    reachable_by_extension: bool
    reachable_by_name: bool


class DirectoryList(Out):
    items: list[DirectoryEntry]


class DirectoryChange(Body):
    number: LocalNumber
    reachable_by_extension: bool | None = None
    reachable_by_name: bool | None = None


class DirectoryPatch(Body):
    entries: list[DirectoryChange] = Field(min_length=1, max_length=10000)


# --- voicemail, calls, audit ---------------------------------------------------------------


class VoicemailMessage(Out):
    id: UUID
    extension_number: str
    caller_number: str | None
    caller_name: str | None
    duration_ms: int
    status: Annotated[v.VoicemailStatus, closed(v.VoicemailStatus)]
    created_at: datetime


class VoicemailList(Out):
    items: list[VoicemailMessage]


class CallRecord(Out):
    id: UUID
    call_id: str
    called_number: str
    caller_number: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None


class CallList(Out):
    items: list[CallRecord]
    next_before: datetime | None = Field(description="Pass as `before` for the next page")


class AuditEntry(Out):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_key: str | None
    before: object | None
    after: object | None
    request_id: str | None


class AuditList(Out):
    items: list[AuditEntry]
    next_before_id: int | None


# --- export / import -----------------------------------------------------------------------


class ExportKey(Body):
    digit: Digit
    assignment: KeyAssignment


class ExportReceptionist(Body):
    greeting: TtsPrompt | None = None
    language: Locale = "fr-FR"
    dial_extension_enabled: bool = False
    menu_timeout_s: int = Field(default=5, ge=1, le=60)
    inter_digit_timeout_s: int = Field(default=3, ge=1, le=20)
    menu_max_retries: int = Field(default=3, ge=1, le=10)
    name_max_retries: int = Field(default=3, ge=1, le=10)
    transfer_ring_s: int = Field(default=20, ge=5, le=300)
    exhausted_extension: LocalNumber | None = None


class TenantExport(Body):
    """A whole receptionist configuration: what `export` writes and `import` restores."""

    format: Literal["receptionist-export/1"] = "receptionist-export/1"
    receptionist: ExportReceptionist
    extensions: list[ExtensionCreate] = Field(default_factory=list)
    ring_groups: list[RingGroupCreate] = Field(default_factory=list)
    conference_rooms: list[ConferenceRoomCreate] = Field(default_factory=list)
    keys: list[ExportKey] = Field(default_factory=list)
