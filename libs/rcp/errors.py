"""Error codes shared by every service, and the one exception type that carries them.

Errors are raised with a machine-readable code where they happen and turned into an HTTP
or NATS reply in exactly one place per transport.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Machine-readable error codes; the wire value never changes once published."""

    INVALID_REQUEST = "invalid_request"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    NOT_FOUND = "not_found"
    NO_SUCH_TENANT = "no_such_tenant"
    CONFLICT = "conflict"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    INTERNAL = "internal"
    # Dial by name (directory service).
    TENANT_SUSPENDED = "tenant_suspended"
    EMPTY_INPUT = "empty_input"
    INVALID_DIGITS = "invalid_digits"
    TOO_FEW_DIGITS = "too_few_digits"

    # media: text to speech
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    UNSUPPORTED_VOICE = "unsupported_voice"
    # media: uploaded and recorded audio
    NOT_AUDIO = "not_audio"
    UNSUPPORTED_AUDIO_FORMAT = "unsupported_audio_format"
    CORRUPT_AUDIO = "corrupt_audio"
    EMPTY_AUDIO = "empty_audio"
    AUDIO_TOO_LONG = "audio_too_long"
    FILE_TOO_LARGE = "file_too_large"
    # media: the service itself
    RENDER_FAILED = "render_failed"
    MEDIA_LOST = "media_lost"


# The media service's refusals of what it was given, as opposed to the service failing.
TEXT_REFUSALS = frozenset(
    {
        ErrorCode.EMPTY_TEXT,
        ErrorCode.TEXT_TOO_LONG,
        ErrorCode.UNSUPPORTED_LANGUAGE,
        ErrorCode.UNSUPPORTED_VOICE,
    }
)
AUDIO_REFUSALS = frozenset(
    {
        ErrorCode.NOT_AUDIO,
        ErrorCode.UNSUPPORTED_AUDIO_FORMAT,
        ErrorCode.CORRUPT_AUDIO,
        ErrorCode.EMPTY_AUDIO,
        ErrorCode.AUDIO_TOO_LONG,
        ErrorCode.FILE_TOO_LARGE,
    }
)


class ReceptionistError(Exception):
    """An error with a code, a human-readable message and optional structured details."""

    def __init__(
        self, code: ErrorCode | str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class RemoteError(ReceptionistError):
    """A typed error reply received from another service over NATS."""


class ServiceUnavailable(ReceptionistError):
    """No service answered a request (no responders, or no reply within the time-out)."""
