"""Message contracts exchanged over NATS: frozen, validated, versioned, tenant-scoped.

This module holds the base classes and the contracts several services share; each
request/reply service has its own module beside it (`rcp.contracts.directory`, ...).

Every request and event names its tenant and the schema version it was written for. Every
reply is a `Reply`: either a result or a typed error with a code, never silence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Message(BaseModel):
    """Base of every contract: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = Field(default=SCHEMA_VERSION, ge=1)


class TenantMessage(Message):
    """A message about one tenant's data."""

    tenant_id: UUID


class ErrorBody(BaseModel):
    """The error half of a reply."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


ResultT = TypeVar("ResultT", bound=BaseModel)


class Reply(BaseModel, Generic[ResultT]):
    """What a request/reply endpoint answers: `result` on success, `error` otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    result: ResultT | None = None
    error: ErrorBody | None = None


class EchoRequest(TenantMessage):
    """Asks the echo service to send `payload` back."""

    payload: str = Field(max_length=65536)


class EchoResult(Message):
    """The echo service's answer."""

    payload: str


class ConfigChanged(TenantMessage):
    """Published by admin after a configuration write has committed."""

    entity: Literal[
        "tenant",
        "number",
        "extension",
        "ring_group",
        "conference_room",
        "receptionist",
        "menu",
        "key",
        "schedule",
        "holiday",
        "version",
        "directory",
        "prompt",
        "device",
        "outbound_policy",
        "tenant_limits",
    ]
    key: str | None = Field(default=None, description="The changed entity's number or id.")
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class CallEvent(TenantMessage):
    """One step of one call, as published to the events stream."""

    call_id: str = Field(min_length=1, max_length=128)
    kind: str = Field(pattern=r"^[a-z_]{1,32}$")
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any] = Field(default_factory=dict)


class VoicemailLeft(TenantMessage):
    """A caller left a voicemail message: stored, and listed in the tenant's voicemail."""

    message_id: UUID
    call_id: str = Field(min_length=1, max_length=128)
    extension_number: str = Field(pattern=r"^[0-9]{2,10}$")
    caller_number: str | None = Field(default=None, max_length=64)
    prompt_id: UUID = Field(description="The message's audio (play it through the media service).")
    duration_ms: int = Field(ge=0)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
