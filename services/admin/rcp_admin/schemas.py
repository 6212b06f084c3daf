"""The admin API's wire format: request and response bodies, validated by pydantic.

The same models generate the OpenAPI document, so the contract and its checks never drift.
Their rules mirror the database's check constraints, so that bad input is refused with a
message naming its field before it ever reaches SQL.
"""

from __future__ import annotations

import re
import typing
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema
from rcp import pins
from rcp import vocabulary as v
from rcp.endpoints import DEVICE_NAME
from rcp.outbound import LIMIT_BOUNDS, MAX_LIST, PREFIX, REGION
from rcp.schedule import ScheduleState

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
DIAL_STRING_NOT_ALLOWED = "dial_string_not_allowed"
DIAL_STRING_REFUSED = (
    "extensions ring a device your carrier provisioned, never a dial string: give the "
    "device's name (GET /v1/tenants/{tenant_id}/devices lists them)"
)


def _device_name(value: str) -> str:
    if any(sign in value for sign in "/@:"):
        raise PydanticCustomError(DIAL_STRING_NOT_ALLOWED, DIAL_STRING_REFUSED)
    if not DEVICE_NAME.match(value):
        raise PydanticCustomError(
            "device_name",
            "a device name is 1 to 64 letters, digits, _ . or -, beginning with a letter or digit",
        )
    return value


DeviceName = Annotated[
    str,
    AfterValidator(_device_name),
    Field(
        description="A device of the tenant, by name (the carrier provisions them)",
        examples=["desk-101"],
        json_schema_extra={"pattern": DEVICE_NAME.pattern},
    ),
]
Endpoint = Annotated[
    str,
    StringConstraints(max_length=200),
    Field(
        description="The Asterisk endpoint the device is: PJSIP/<endpoint> (letters, digits, "
        "_ . -; no @host, no URI, never the carrier's trunk); in development also a test phone "
        "of the local stack, Local/<n>@test-phones",
        examples=["PJSIP/acme-desk-101"],
    ),
]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
    Field(examples=["demo"]),
]
Pin = Annotated[
    str,
    StringConstraints(pattern=pins.PIN.pattern),
    Field(
        description=f"{pins.MIN_DIGITS} to {pins.MAX_DIGITS} digits; stored hashed, never shown "
        "again",
        examples=["482913"],
    ),
]
PinHash = Annotated[
    str,
    StringConstraints(pattern=pins.HASHED.pattern),
    Field(description="A PIN as stored (salted scrypt), from an export"),
]
Region = Annotated[
    str,
    StringConstraints(pattern=REGION.pattern),
    Field(description="A country, ISO 3166 alpha-2", examples=["FR"]),
]
Prefix = Annotated[
    str,
    StringConstraints(pattern=PREFIX.pattern),
    Field(description="A number prefix: + and 1 to 15 digits", examples=["+3389"]),
]
TtsText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
    AfterValidator(_text),
]
Voice = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+.:-]{1,64}$")]
# An email address: one address, nothing a mail header could be made to say more with
# (the database's CHECK is the same).
EMAIL = r'^[^@\s<>()\[\],;:"]+@[^@\s<>()\[\],;:"]+\.[^@\s<>()\[\],;:".]+$'
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL),
    Field(examples=["amelie.poulain@example.org"]),
]


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
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="When the token stops working, with a time zone; none: after the "
        "default lifetime (90 days unless the carrier set another). At most the longest "
        "lifetime the carrier allows (365 days unless set otherwise)",
    )


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


# --- people: users, sessions, links -------------------------------------------------------


# A person's address: an Email, in lower case (one account per address, whatever its case).
PersonEmail = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=EMAIL),
    Field(examples=["amelie.poulain@example.org"]),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
UserRole = Annotated[v.UserRole, closed(v.UserRole)]
UserLanguage = Annotated[v.UserLanguage, closed(v.UserLanguage)]
UserStatus = Literal["invited", "active", "disabled"]


class UserCreate(Body):
    email: PersonEmail
    name: Name = ""
    role: UserRole = Field(
        description="A tenant's: admin, editor or viewer; the carrier's staff: operator or support"
    )
    language: UserLanguage = Field(
        default=v.UserLanguage.FR, description="Of the web manager and of the emails"
    )


class UserPatch(Body):
    _required = field_validator("name", "role", "language", "disabled")(_not_null)

    name: Name | None = None
    role: UserRole | None = None
    language: UserLanguage | None = None
    disabled: bool | None = Field(
        default=None, description="true: signed out everywhere and refused until enabled again"
    )


class User(Out):
    id: UUID
    tenant_id: UUID | None = Field(description="null: one of the carrier's staff")
    email: str
    name: str
    role: UserRole
    language: UserLanguage
    status: UserStatus = Field(description="invited (no password chosen yet), active, or disabled")
    created_at: datetime
    updated_at: datetime
    last_sign_in_at: datetime | None
    password_changed_at: datetime | None


class Invitation(Out):
    sent: bool = Field(description="Whether the email was handed to the mail relay")
    expires_at: datetime
    problem: str | None = Field(default=None, description="Why it was not sent")


class InvitedUser(User):
    invitation: Invitation


class UserList(Out):
    items: list[User]


class SignIn(Body):
    email: PersonEmail
    password: Password


class Session(Out):
    """Who is calling: a signed-in person (with their session's CSRF token), or a token."""

    kind: Literal["user", "token"]
    name: str = Field(description="The person's email, or the token's name")
    tenant_id: UUID | None = Field(description="null: the carrier")
    user: User | None = None
    role: UserRole | None = Field(default=None, description="null: a token (all its scope)")
    csrf_token: str | None = Field(
        default=None,
        description="Send it in X-CSRF-Token with every change made with the session cookie",
    )
    expires_at: datetime | None = Field(default=None, description="The absolute end")
    idle_minutes: int | None = Field(
        default=None, description="The session ends after this long without a request"
    )
    read_only: bool = Field(default=False, description="Viewing a tenant as carrier support")
    view_as: UUID | None = Field(default=None, description="The tenant viewed, read-only")


class ViewAs(Body):
    tenant_id: UUID = Field(description="The tenant whose pages to view, read-only")


class SessionInfo(Out):
    id: UUID
    current: bool
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str
    user_agent: str


class SessionList(Out):
    items: list[SessionInfo]


class MePatch(Body):
    _required = field_validator("name", "language")(_not_null)

    name: Name | None = None
    language: UserLanguage | None = None


class PasswordChange(Body):
    current_password: Password
    new_password: Password


class ResetRequest(Body):
    email: PersonEmail


class LinkUse(Body):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Password


class LinkCheck(Body):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Link(Out):
    purpose: Annotated[v.LinkPurpose, closed(v.LinkPurpose)]
    email: str
    expires_at: datetime


# --- numbers -------------------------------------------------------------------------------


class NumberCreate(Body):
    e164: E164


class PhoneNumber(Out):
    e164: str
    created_at: datetime


class NumberList(Out):
    items: list[PhoneNumber]


class RoutedNumber(PhoneNumber):
    tenant_id: UUID
    tenant_slug: str
    tenant_name: str


class RoutedNumberList(Out):
    items: list[RoutedNumber]


class NumberMove(Body):
    tenant_id: UUID = Field(description="The tenant the number goes to")


# --- extensions ----------------------------------------------------------------------------

ExtensionKind = Annotated[v.ExtensionKind, closed(v.ExtensionKind)]


VOICEMAIL_EMAIL = (
    "Where the extension's new voicemail messages are emailed, the recording attached; "
    "null: nowhere"
)
VOICEMAIL_GREETING = (
    "What callers hear before the beep: text to speak, or a prompt of the tenant's (an "
    "upload or a recording made in the browser, POST /prompts first); null: the standard "
    '"you have reached the voicemail of <name>"'
)


class ExtensionFields(Body):
    first_name: Name = ""
    last_name: Name = ""
    device: DeviceName | None = Field(
        default=None, description="A physical extension's device, by name"
    )
    external_number: E164 | None = None
    voicemail_enabled: bool = True
    reachable_by_extension: bool = True
    reachable_by_name: bool = True
    voicemail_email: Email | None = Field(default=None, description=VOICEMAIL_EMAIL)
    voicemail_greeting: TtsPrompt | GreetingRef | None = Field(
        default=None, description=VOICEMAIL_GREETING
    )
    spoken_name: TtsPrompt | GreetingRef | None = Field(
        default=None,
        description="What dial by name says for this extension: text to speak (spelt as it "
        "should sound), or a prompt (an upload or a browser recording); null: the name, "
        "spoken by text-to-speech",
    )


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
    device: DeviceName | None = None
    external_number: E164 | None = None
    voicemail_enabled: bool | None = None
    reachable_by_extension: bool | None = None
    reachable_by_name: bool | None = None
    voicemail_email: Email | None = Field(default=None, description=VOICEMAIL_EMAIL)
    voicemail_greeting: TtsPrompt | GreetingRef | None = Field(
        default=None, description=VOICEMAIL_GREETING
    )
    spoken_name: TtsPrompt | GreetingRef | None = Field(
        default=None, description="null: back to the name spoken by text-to-speech"
    )


class DestinationRefusal(Out):
    """Why the carrier's outbound policy refuses an outside number."""

    refusal: Annotated[str, Field(examples=["number_type"])] = Field(
        description="The rule that refused it: denied_prefix, invalid_number, non_geographic, "
        "international or number_type"
    )
    number_type: Annotated[v.NumberType, closed(v.NumberType)]
    country: str | None = Field(description="ISO 3166 alpha-2; 001: non-geographic")
    prefix: str | None = Field(description="The denied prefix that decided, if one did")


class Extension(Out):
    number: str
    kind: ExtensionKind
    first_name: str
    last_name: str
    device: str | None = Field(description="The device a physical extension rings, by name")
    legacy_dial_string: str | None = Field(
        description="A dial string saved before devices existed, kept as it was: the extension "
        "rings it only if it is a device's endpoint; choose a device to replace it"
    )
    external_number: str | None
    destination_allowed: bool | None = Field(
        description="A virtual extension: whether the carrier's outbound policy allows its "
        "number now (a refused one stays saved, and calls to it hear that it cannot be "
        "reached); null for a physical extension"
    )
    destination_refusal: DestinationRefusal | None
    voicemail_enabled: bool
    reachable_by_extension: bool
    reachable_by_name: bool
    name_prompt_id: UUID | None
    voicemail_email: str | None = Field(description=VOICEMAIL_EMAIL)
    voicemail_greeting: Prompt | None = Field(
        description="What callers hear before the beep; null: the standard greeting"
    )
    spoken_name: Prompt | None = Field(
        description="The recorded or spoken name dial by name says (its prompt); null: the "
        "name, spoken by text-to-speech"
    )
    created_at: datetime
    updated_at: datetime


class ExtensionList(Out):
    items: list[Extension]


# --- devices -------------------------------------------------------------------------------


class DeviceCreate(Body):
    name: DeviceName
    endpoint: Endpoint


class DevicePatch(Body):
    _required = field_validator("name", "endpoint")(_not_null)

    name: DeviceName | None = None
    endpoint: Endpoint | None = None


class Device(Out):
    name: str
    endpoint: str
    extensions: list[str] = Field(description="The extensions that ring it, by number")
    created_at: datetime
    updated_at: datetime


class DeviceList(Out):
    items: list[Device]


# --- the carrier's outbound policy and limits ---------------------------------------------

NumberType = Annotated[v.NumberType, closed(v.NumberType)]


class OutboundPolicyPatch(Body):
    _required = field_validator(
        "allowed_regions", "allowed_number_types", "allowed_prefixes", "denied_prefixes"
    )(_not_null)

    home_region: Region | None = Field(
        default=None, description="The tenant's own country; null: its locale's"
    )
    allowed_regions: list[Region] | None = Field(default=None, max_length=MAX_LIST)
    allowed_number_types: list[NumberType] | None = Field(default=None, max_length=20)
    allowed_prefixes: list[Prefix] | None = Field(default=None, max_length=MAX_LIST)
    denied_prefixes: list[Prefix] | None = Field(default=None, max_length=MAX_LIST)


class RefusedExtension(Out):
    number: str
    external_number: str
    refusal: DestinationRefusal


class OutboundPolicy(Out):
    home_region: str | None = Field(description="As set; null: the country of the tenant's locale")
    country: str = Field(description="The tenant's own country in force")
    allowed_regions: list[str]
    allowed_number_types: list[NumberType]
    allowed_prefixes: list[str]
    denied_prefixes: list[str] = Field(description="Always refused, whatever else allows")
    refused_extensions: list[RefusedExtension] = Field(
        description="The tenant's virtual extensions whose number this policy refuses"
    )
    updated_at: datetime | None = Field(description="null: the defaults, never changed")


def _limit(name: str) -> Any:
    low, high = LIMIT_BOUNDS[name]
    return Field(default=None, ge=low, le=high)


class TenantLimitsPatch(Body):
    _required = field_validator(*LIMIT_BOUNDS)(_not_null)

    max_inbound_calls: int | None = _limit("max_inbound_calls")
    max_outbound_legs: int | None = _limit("max_outbound_legs")
    max_outbound_legs_per_minute: int | None = _limit("max_outbound_legs_per_minute")
    max_outbound_call_s: int | None = _limit("max_outbound_call_s")


class TenantLimits(Out):
    max_inbound_calls: int = Field(description="Calls in the receptionist at once, per node")
    max_outbound_legs: int = Field(description="Outside legs at once, per node")
    max_outbound_legs_per_minute: int = Field(description="New outside legs a minute, per node")
    max_outbound_call_s: int = Field(description="The longest call to an outside number")
    updated_at: datetime | None = Field(description="null: the defaults, never changed")


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


class ExportConferenceRoom(ConferenceRoomCreate):
    """A room in an export: its PIN as stored (a plain `pin` is taken too, on import)."""

    pin_hash: PinHash | None = None
    pin_too_short: bool = False

    @model_validator(mode="after")
    def _one_pin(self) -> ExportConferenceRoom:
        if self.pin is not None and self.pin_hash is not None:
            raise ValueError("give the room's pin or its pin_hash, not both")
        return self


class ConferenceRoomPatch(Body):
    _required = field_validator("number", "name")(_not_null)

    number: LocalNumber | None = None
    name: RequiredName | None = None
    pin: Pin | None = None


class ConferenceRoom(Out):
    number: str
    name: str
    has_pin: bool = Field(description="Whether callers must type a PIN (never shown)")
    pin_too_short: bool = Field(
        description="The PIN has fewer than 4 digits (saved before they were required): "
        "it still works; set a longer one"
    )
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


class OpenMenu(Body):
    """Take the caller to another of the tenant's menus (`*` there comes back)."""

    action: Literal["open_menu"]
    menu_id: UUID


KeyAssignment = Annotated[
    DialByName | PlayAnnouncement | Transfer | OpenMenu, Field(discriminator="action")
]


class MenuRef(Out):
    id: UUID
    name: str


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
    menu: MenuRef | None = Field(default=None, description="The menu an open_menu key opens")


class KeyList(Out):
    items: list[Key] = Field(
        description="All ten keys, 0 to 9; unassigned ones have assigned=false"
    )


# --- menus ---------------------------------------------------------------------------------


class MenuFields(Body):
    """A menu's own settings; null (or left out) inherits the receptionist's."""

    language: Locale | None = None
    greeting: TtsPrompt | GreetingRef | None = None
    dial_extension_enabled: bool | None = None
    menu_timeout_s: int | None = Field(default=None, ge=1, le=60)
    inter_digit_timeout_s: int | None = Field(default=None, ge=1, le=20)


class MenuCreate(MenuFields):
    name: RequiredName


class MenuPatch(MenuFields):
    name: Annotated[RequiredName | None, AfterValidator(_not_null)] = None


class MenuSettings(Out):
    language: str
    dial_extension_enabled: bool
    menu_timeout_s: int
    inter_digit_timeout_s: int


class ApiWarning(Out):
    code: str = Field(examples=["menu_unreachable"])
    message: str


class OpenedBy(Out):
    menu_id: UUID
    menu_name: str
    digit: str


class Menu(Out):
    id: UUID
    name: str
    first: bool = Field(
        description="The receptionist's first menu: its settings are the receptionist's"
    )
    language: str | None = Field(description="null: the receptionist's language")
    greeting: Prompt | None
    dial_extension_enabled: bool | None
    menu_timeout_s: int | None
    inter_digit_timeout_s: int | None
    effective: MenuSettings = Field(description="What callers get, inherited settings resolved")
    keys: list[Key] = Field(description="All ten keys, 0 to 9")
    opened_by: list[OpenedBy] = Field(description="The keys that open this menu")
    warnings: list[ApiWarning] = Field(
        description="menu_unreachable: no entry point or key leads to it (saved all the same)"
    )


class MenuList(Out):
    items: list[Menu]


# --- opening hours, holidays, override ------------------------------------------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAY_NAMES: tuple[str, ...] = typing.get_args(Weekday)
ClockTime = Annotated[
    str,
    StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"),
    Field(examples=["09:00"]),
]


class OpeningRange(Body):
    """Open from `start` to `end`, wall-clock times in the tenant's time zone."""

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _ordered(self) -> OpeningRange:
        if self.start >= self.end:
            raise ValueError(f"a range ends after it starts: {self.start}-{self.end}")
        return self


def _no_overlap(ranges: list[OpeningRange]) -> list[OpeningRange]:
    ordered = sorted(ranges, key=lambda r: r.start)
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise ValueError(
                f"ranges overlap: {before.start}-{before.end} and {after.start}-{after.end}"
            )
    return ordered


DayRanges = Annotated[list[OpeningRange], Field(max_length=8), AfterValidator(_no_overlap)]


class ScheduleMenus(Body):
    """The menu each state answers with (null: the closed menu, then the first menu)."""

    closed: UUID | None = None
    holiday: UUID | None = None
    override_closed: UUID | None = None


class SchedulePut(Body):
    weekly: dict[Weekday, DayRanges] = Field(
        default_factory=dict, description="No range on any day: open around the clock"
    )
    menus: ScheduleMenus = Field(default_factory=ScheduleMenus)


OverrideModeField = Annotated[v.OverrideMode, closed(v.OverrideMode), Field(examples=["closed"])]


class OverridePut(Body):
    mode: OverrideModeField
    until: AwareDatetime | None = Field(
        default=None, description="When the override ends; null: until switched back"
    )


class ScheduleOverride(Out):
    mode: OverrideModeField
    until: datetime | None


class ScheduleMenusOut(Out):
    closed: MenuRef | None
    holiday: MenuRef | None
    override_closed: MenuRef | None


class Schedule(Out):
    timezone: str = Field(description="The tenant's time zone: the hours are its wall-clock times")
    weekly: dict[str, list[OpeningRange]]
    menus: ScheduleMenusOut
    override: ScheduleOverride | None


class ScheduleNow(Out):
    state: Annotated[ScheduleState, closed(ScheduleState)]
    reason: str = Field(examples=["holiday: Noël"])
    reason_by_language: dict[str, str] = Field(
        description="The reason in each language of the web manager (en, fr)",
        examples=[{"en": "holiday: Noël", "fr": "jour férié : Noël"}],
    )
    menu: MenuRef = Field(description="The menu a call starting now hears first")


class HolidayCreate(Body):
    name: RequiredName
    start: date
    end: date | None = Field(default=None, description="The last day (null: one day)")
    yearly: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> HolidayCreate:
        if self.end is not None and not self.start <= self.end < self.start + timedelta(days=366):
            raise ValueError("end is a day from start to a year after it")
        return self


class Holiday(Out):
    id: UUID
    name: str
    start: date
    end: date
    yearly: bool
    source: Literal["manual", "public", "ical"]


class HolidayList(Out):
    items: list[Holiday]


class PublicHolidays(Body):
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$"), Field(examples=["FR"])]
    year: int = Field(ge=1950, le=2100, examples=[2027])
    subdivision: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{1,10}$")] | None = None


class CalendarImport(Body):
    calendar: Annotated[str, StringConstraints(min_length=1, max_length=900_000)] = Field(
        description="An iCalendar file's text (.ics): each event becomes a holiday"
    )


class HolidaysAdded(Out):
    added: list[Holiday]
    skipped: int = Field(description="Already there (same name and dates)")


# --- versions ------------------------------------------------------------------------------


class Draft(Out):
    changed: bool = Field(description="The draft differs from the published version")
    published: int | None = Field(description="The version callers hear (null: never published)")
    summary: list[str] = Field(description="What publishing would change, one line each")
    summary_by_language: dict[str, list[str]] = Field(
        description="The summary in each language of the web manager (en, fr)"
    )
    fingerprint: str = Field(description="Changes whenever the draft does")


class PublishBody(Body):
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class Version(Out):
    number: int
    published_at: datetime
    published_by: str
    comment: str | None
    summary: list[str] = Field(description="What changed since the version before, in English")
    summary_by_language: dict[str, list[str]] = Field(
        description="The summary in each language of the web manager (en, fr); a version "
        "published before summaries were translated has its English lines in each"
    )
    rolled_back_from: int | None


class VersionList(Out):
    items: list[Version]


class VersionWithDocument(Version):
    document: dict[str, Any] = Field(description="The receptionist as callers heard it")


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


# --- retention -----------------------------------------------------------------------------

# How long personal data may be kept, at most (days): ten years.
RETENTION_MAX_DAYS = 3650


class RetentionPatch(Body):
    _required = field_validator("call_records_days", "voicemail_days")(_not_null)

    call_records_days: int | None = Field(default=None, ge=1, le=RETENTION_MAX_DAYS)
    voicemail_days: int | None = Field(default=None, ge=1, le=RETENTION_MAX_DAYS)


class Retention(Out):
    call_records_days: int = Field(
        description="Call records (caller numbers, what callers did) are deleted this many "
        "days after the call"
    )
    voicemail_days: int = Field(
        description="Voicemail messages and their recordings are deleted this many days "
        "after they were left"
    )
    updated_at: datetime | None = Field(description="null: the defaults, never changed")


# --- voicemail, calls, audit ---------------------------------------------------------------


VoicemailStatus = Annotated[v.VoicemailStatus, closed(v.VoicemailStatus)]


class VoicemailMessage(Out):
    id: UUID
    extension_number: str
    caller_number: str | None
    caller_name: str | None
    duration_ms: int
    status: VoicemailStatus = Field(description="new until someone listens to it (or marks it)")
    created_at: datetime
    email_status: Annotated[v.EmailStatus, closed(v.EmailStatus)] = Field(
        description="Its email to the extension's address: pending (to send, or being retried), "
        "sent, none (the extension had no address) or failed (given up: email_error says why)"
    )
    email_to: str | None = Field(description="The address it was emailed to")
    emailed_at: datetime | None
    email_attempts: int = Field(description="How many times sending it was tried")
    email_error: str | None = Field(description="Why the last try failed")


class VoicemailList(Out):
    items: list[VoicemailMessage] = Field(description="New messages first, then the newest")


class VoicemailCount(Out):
    new: int = Field(description="Messages nobody has listened to yet")
    total: int


class VoicemailPatch(Body):
    status: VoicemailStatus = Field(description="read, or new to mark it unread again")


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
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters) for the next page; null: no more"
    )
    next_before: datetime | None = Field(
        description="The last item's start: older clients pass it as `before` for the next "
        "page (a call started at that very instant on the next page is then missed: prefer "
        "`next_cursor`)"
    )


class CallStep(Out):
    """One step of a call's decision trace, as the stasis service published it."""

    kind: str = Field(
        examples=["key"],
        description="started, answered, schedule, menu, key, extension, lookup, lookup_result, "
        "choice, announcement, transfer, transfer_result, bridged, pin, conference, voicemail, "
        "recording, limit or ended (docs/admin-api.md says what each one's data holds)",
    )
    at: datetime
    offset_ms: int = Field(description="Milliseconds since the call started")
    data: dict[str, Any]


class CallDetail(CallRecord):
    steps: list[CallStep] = Field(description="The decision trace, in the order it happened")
    names: dict[str, str] = Field(
        description="The current name of each extension, ring group and conference room the "
        "steps name by number"
    )


class DayCalls(Out):
    day: date = Field(description="A day in the tenant's time zone")
    calls: int


class OutcomeCalls(Out):
    outcome: str = Field(description="How the calls ended; in_progress: not ended yet")
    calls: int


class HourCalls(Out):
    hour: int = Field(ge=0, le=23, description="An hour of the day in the tenant's time zone")
    calls: int


class KeyPresses(Out):
    digit: str
    action: str = Field(description="What the key did; unassigned: a key the menu has not")
    presses: int


class NameSearches(Out):
    searches: int = Field(description="Names callers spelled")
    found: int = Field(description="Searches that found someone")
    no_match: int = Field(description="Searches that found nobody")
    failed: int = Field(description="Searches the directory could not answer")


class Dashboard(Out):
    since: datetime
    until: datetime
    timezone: str = Field(description="The tenant's time zone, that of days and hours")
    calls: int = Field(description="Calls that started in the period")
    answered_calls: int
    days: list[DayCalls] = Field(description="Calls per day, days without calls left out")
    outcomes: list[OutcomeCalls] = Field(description="Most frequent first")
    hours: list[HourCalls] = Field(
        description="Calls per hour of the day, hours without calls left out"
    )
    keys: list[KeyPresses] = Field(description="Keys pressed in menus, most pressed first")
    dial_by_name: NameSearches


class AuditEntry(Out):
    id: int
    at: datetime
    tenant_id: UUID | None = Field(default=None, description="null: the carrier's own")
    actor: str
    actor_user_id: UUID | None = Field(default=None, description="The person who acted, if one did")
    action: str
    entity: str
    entity_key: str | None
    before: object | None
    after: object | None
    request_id: str | None


class Usage(Out):
    tenant_id: UUID
    slug: str
    name: str
    since: datetime
    until: datetime
    calls: int = Field(description="Calls that started in the period")
    answered_calls: int
    minutes: float = Field(description="From answer to hang-up, in minutes")
    outside_minutes: float = Field(
        description="Minutes of calls transferred to an outside number (virtual extensions)"
    )
    voicemail_left: int = Field(description="Voicemail messages left in the period")
    voicemail_stored: int = Field(description="Voicemail messages kept now")
    voicemail_bytes: int = Field(description="The audio of the voicemail kept now, in bytes")


class UsageList(Out):
    items: list[Usage]


class AuditList(Out):
    items: list[AuditEntry]
    next_before_id: int | None


# --- export / import -----------------------------------------------------------------------


class ExportOpenMenu(Body):
    """An open_menu key in an export: the menu by name (ids differ between tenants)."""

    action: Literal["open_menu"]
    menu: RequiredName


# An audio file in the export archive: `audio/` and a plain name (never a path elsewhere).
ArchiveFile = Annotated[
    str,
    StringConstraints(pattern=r"^audio/[A-Za-z0-9][A-Za-z0-9._-]{0,120}$"),
    Field(examples=["audio/greeting.wav"]),
]


class AudioFile(Body):
    """Uploaded audio, carried in the export archive (application/zip) by its file name there."""

    file: ArchiveFile


class ExportExtension(ExtensionCreate):
    """An extension in an export: in the archive, its uploaded or recorded voicemail greeting
    and spoken name are audio files; in the JSON, a recorded name is its `prompt_id`."""

    voicemail_greeting: TtsPrompt | GreetingRef | AudioFile | None = Field(  # type: ignore[assignment]
        default=None, description=VOICEMAIL_GREETING
    )
    spoken_name: TtsPrompt | GreetingRef | AudioFile | None = None  # type: ignore[assignment]


class ExportAnnouncement(Body):
    """A play_announcement key in an export: text to speak, or (in the archive) an audio file;
    a `prompt_id` only works in the tenant it came from."""

    action: Literal["play_announcement"]
    prompt: TtsPrompt | None = None
    prompt_id: UUID | None = None
    file: ArchiveFile | None = None


ExportAssignment = Annotated[
    DialByName | ExportAnnouncement | Transfer | ExportOpenMenu, Field(discriminator="action")
]


class ExportKey(Body):
    digit: Digit
    assignment: ExportAssignment


class ExportMenu(Body):
    """A menu other than the first: its name, own settings (null inherits) and keys."""

    name: RequiredName
    language: Locale | None = None
    greeting: TtsPrompt | AudioFile | None = None
    dial_extension_enabled: bool | None = None
    menu_timeout_s: int | None = Field(default=None, ge=1, le=60)
    inter_digit_timeout_s: int | None = Field(default=None, ge=1, le=20)
    keys: list[ExportKey] = Field(default_factory=list)


class ExportReceptionist(Body):
    greeting: TtsPrompt | AudioFile | None = None
    language: Locale = "fr-FR"
    dial_extension_enabled: bool = False
    menu_timeout_s: int = Field(default=5, ge=1, le=60)
    inter_digit_timeout_s: int = Field(default=3, ge=1, le=20)
    menu_max_retries: int = Field(default=3, ge=1, le=10)
    name_max_retries: int = Field(default=3, ge=1, le=10)
    transfer_ring_s: int = Field(default=20, ge=5, le=300)
    exhausted_extension: LocalNumber | None = None


class ExportSchedule(Body):
    """The weekly hours and the menu of each state, by menu name (null: the default)."""

    weekly: dict[Weekday, DayRanges] = Field(default_factory=dict)
    closed_menu: RequiredName | None = None
    holiday_menu: RequiredName | None = None
    override_closed_menu: RequiredName | None = None


class TenantExport(Body):
    """A whole receptionist configuration: what `export` writes and `import` restores."""

    format: Literal["receptionist-export/1"] = "receptionist-export/1"
    receptionist: ExportReceptionist
    extensions: list[ExportExtension] = Field(default_factory=list)
    ring_groups: list[RingGroupCreate] = Field(default_factory=list)
    conference_rooms: list[ExportConferenceRoom] = Field(default_factory=list)
    keys: list[ExportKey] = Field(
        default_factory=list, description="The first menu's keys (the receptionist's)"
    )
    first_menu_name: RequiredName | None = None
    menus: list[ExportMenu] = Field(default_factory=list, description="The other menus")
    schedule: ExportSchedule | None = Field(
        default=None, description="Opening hours and each state's menu (null: always open)"
    )
    holidays: list[HolidayCreate] = Field(default_factory=list)


# --- the menu simulator ---------------------------------------------------------------------

SIMULATION_MAX_ACTIONS = 100
SIMULATION_MAX_PHONES = 200
SIMULATION_MAX_WAIT_S = 600


class SimulatedAction(Body):
    """One thing the caller does: press keys (one after the other, quickly), wait (say
    nothing, or speak a message while one is recorded), or hang up. Exactly one of them."""

    keys: str | None = Field(
        default=None,
        pattern=r"^[0-9*#]{1,20}$",
        examples=["1", "533", "4321#"],
        description="Keys pressed in a row (a pause follows, long enough for the flow to act)",
    )
    wait_s: float | None = Field(
        default=None,
        gt=0,
        le=SIMULATION_MAX_WAIT_S,
        description="Seconds that pass without a key: time-outs run out; while a message "
        "is recorded, the caller speaks for that long",
    )
    hang_up: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SimulatedAction:
        given = [self.keys is not None, self.wait_s is not None, self.hang_up is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of keys, wait_s and hang_up")
        return self


class SimulatedPhone(Body):
    """What the phone of an extension does when the simulated call rings it."""

    number: str = Field(pattern=r"^[0-9]{1,10}$", description="The extension's number")
    does: Literal["answer", "busy", "no_answer", "unreachable"]
    after_s: float = Field(
        default=3,
        ge=0,
        le=600,
        description="How long it rings before it answers or is busy (no answer: the "
        "transfer's whole ring time)",
    )


class SimulateBody(Body):
    configuration: Literal["draft", "live"] | int = Field(
        default="live",
        description="What to run: the draft being edited, the live (latest published) "
        "version, or a version by number",
    )
    at: AwareDatetime | None = Field(
        default=None,
        description="The moment the call starts: the schedule decides the state (default: now)",
    )
    schedule_state: Literal["open", "closed", "holiday", "override_closed"] | None = Field(
        default=None, description="A schedule state to simulate, instead of a moment"
    )
    caller_number: str | None = Field(
        default=None,
        pattern=r"^\+?[0-9]{2,15}$",
        description="The caller's number (null: withheld)",
    )
    actions: list[SimulatedAction] = Field(default_factory=list, max_length=SIMULATION_MAX_ACTIONS)
    phones: list[SimulatedPhone] = Field(
        default_factory=list,
        max_length=SIMULATION_MAX_PHONES,
        description="What each phone does; a phone not listed answers after 3 s",
    )

    @field_validator("configuration", mode="before")
    @classmethod
    def _configuration(cls, value: object) -> object:
        if value in ("draft", "live") or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 1
        ):
            return value
        raise ValueError('use "draft", "live" or a version number')


class SimulatedPiece(Out):
    text: str | None = Field(description="What is said (null: a tone)")
    language: str | None
    audio_url: str | None = Field(
        description="Where the web manager plays it (this API, with the caller's credentials)"
    )
    duration_s: float | None = Field(description="null: plays until stopped (ringback)")
    estimated: bool = Field(
        default=False, description="The media service did not answer: the length is a guess"
    )


class SimulatedEntry(Out):
    """One moment of the simulated call: a prompt, a decision, a transfer, a caller's act."""

    type: Literal["prompt", "decision", "transfer", "caller"]
    at_s: float = Field(description="Seconds since the call started (simulated clock)")
    text: str | None = Field(default=None, description="prompt: all it says")
    pieces: list[SimulatedPiece] | None = Field(default=None, description="prompt: its parts")
    stopped_at_s: float | None = Field(
        default=None, description="prompt: cut short (a key, a transfer answered) at"
    )
    step: str | None = Field(default=None, description="decision: the trace step's kind")
    data: dict[str, Any] | None = Field(default=None, description="decision: its data")
    number: str | None = Field(default=None, description="transfer: the extension rung")
    ring_s: float | None = Field(default=None, description="transfer: how long it rang")
    result: str | None = Field(
        default=None,
        description="transfer: answered, busy, no_answer, failed or stopped (another "
        "answered, the caller left); null while it rings",
    )
    action: Literal["keys", "wait", "hang_up"] | None = None
    keys: str | None = None
    wait_s: float | None = None


class SimulatedStep(Out):
    """One step of the simulated call's decision trace, as stasis would publish it."""

    kind: str
    offset_ms: int
    data: dict[str, Any]


class Simulation(Out):
    configuration: Literal["draft", "live", "version"]
    version: int | None = Field(description="The version run (null: the draft, or never published)")
    state: Literal["ended", "waiting", "cut"] = Field(
        description="ended; waiting (for the caller: a choice, or a call under way); cut "
        "(the simulation's bounds on steps or time were reached)"
    )
    outcome: str | None
    timeline: list[SimulatedEntry]
    trace: list[SimulatedStep]
    ignored_actions: int = Field(description="Actions after the call had ended")
