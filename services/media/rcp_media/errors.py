"""The media service's errors: each carries its wire code, and is turned into a NATS reply by
`rcp.messaging.endpoint` (or an HTTP status by `rcp_media.http`) in one place."""

from __future__ import annotations

from typing import Any, ClassVar

from rcp.errors import ErrorCode, ReceptionistError


class MediaError(ReceptionistError):
    """A media error whose code is fixed by its class."""

    code_for: ClassVar[ErrorCode] = ErrorCode.INTERNAL

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(self.code_for, message, details)


class EmptyText(MediaError):
    """The text is empty once normalised."""

    code_for = ErrorCode.EMPTY_TEXT


class TextTooLong(MediaError):
    """The text is longer than the service speaks."""

    code_for = ErrorCode.TEXT_TOO_LONG


class UnsupportedLanguage(MediaError):
    """The TTS engine has no voice for this language."""

    code_for = ErrorCode.UNSUPPORTED_LANGUAGE


class UnsupportedVoice(MediaError):
    """The TTS engine has no such voice."""

    code_for = ErrorCode.UNSUPPORTED_VOICE


class NotAudio(MediaError):
    """The content is not audio at all (text, an image...), whatever its name says."""

    code_for = ErrorCode.NOT_AUDIO


class UnsupportedAudioFormat(MediaError):
    """Audio, but in a container this service does not take."""

    code_for = ErrorCode.UNSUPPORTED_AUDIO_FORMAT


class CorruptAudio(MediaError):
    """Audio that cannot be decoded to its end (truncated, damaged)."""

    code_for = ErrorCode.CORRUPT_AUDIO


class EmptyAudio(MediaError):
    """No bytes, or nothing but silence."""

    code_for = ErrorCode.EMPTY_AUDIO


class AudioTooLong(MediaError):
    """Longer than the length limit."""

    code_for = ErrorCode.AUDIO_TOO_LONG


class FileTooLarge(MediaError):
    """Larger than the size limit."""

    code_for = ErrorCode.FILE_TOO_LARGE


class RenderFailed(MediaError):
    """The engine or the transcoder failed, or took longer than allowed."""

    code_for = ErrorCode.RENDER_FAILED


class MediaLost(MediaError):
    """A stored upload or recording whose file is gone: it cannot be rendered again."""

    code_for = ErrorCode.MEDIA_LOST


class PromptNotFound(MediaError):
    """No such prompt for this tenant (another tenant's prompt is not found either)."""

    code_for = ErrorCode.NOT_FOUND


class InboxObjectMissing(MediaError):
    """The audio named by an ingest request is not in the inbox (never put, or expired)."""

    code_for = ErrorCode.NOT_FOUND


class TenantNotFound(MediaError):
    """No such tenant."""

    code_for = ErrorCode.NO_SUCH_TENANT
