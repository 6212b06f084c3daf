"""Contracts of the media service (`rcp.media.*`): make a prompt playable, ingest audio,
forget audio nothing plays any more.

A playable prompt is an HTTP URL Asterisk fetches with `play?media=sound:<uri>`. URLs are
immutable (they name the content) and signed (one tenant cannot enumerate another's), so
Asterisk's media cache keeps them.

Audio to ingest (an admin's upload, a voicemail recording) does not travel inside the request:
uploads reach 20 MB, past a NATS message's size limit. The requester first puts the bytes in
the JetStream object store `subjects.MEDIA_INBOX_BUCKET` under a name of its tenant, then sends
the request naming that object; `rcp.media_client` does both.
"""

from __future__ import annotations

from typing import Annotated, Self
from uuid import UUID

from pydantic import Field, model_validator

from rcp.contracts import Message, TenantMessage

LOCALE_PATTERN = r"^[a-z]{2,3}-[A-Z]{2}$"
VOICE_PATTERN = r"^[A-Za-z0-9_+.:-]{1,64}$"
KEY_PATTERN = r"^[0-9a-f]{64}$"
# "<tenant id>/<32 hex>": the tenant first, so that the service can refuse another tenant's object.
INBOX_OBJECT_PATTERN = (
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/[0-9a-f]{32}$"
)
# The wire bound only keeps messages small; the service's own limit (a setting) is lower and
# is refused with `text_too_long`.
MAX_TEXT_ON_WIRE = 65536
# Keys one `ForgetAudio` names at most (a tenant's erasure sends several requests).
MAX_KEYS_TO_FORGET = 500


class EnsurePrompt(TenantMessage):
    """Make a prompt playable: a stored prompt by id, or text spoken by text-to-speech.

    Text is spoken in `language` (default: the tenant's locale) with `voice` (default: the
    engine's voice for that language).
    """

    prompt_id: UUID | None = None
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_ON_WIRE)
    language: str | None = Field(default=None, pattern=LOCALE_PATTERN)
    voice: str | None = Field(default=None, pattern=VOICE_PATTERN)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.prompt_id is None) == (self.text is None):
            raise ValueError("give either prompt_id or text")
        if self.prompt_id is not None and (self.language or self.voice):
            raise ValueError("language and voice go with text: a stored prompt has its own")
        return self


class IngestAudio(TenantMessage):
    """Store audio waiting in the media inbox as a new prompt of the tenant.

    Sent to `rcp.media.<tenant>.upload` for an admin's upload (source `upload`) and to
    `rcp.media.<tenant>.ingest` for a voicemail recording (source `recording`). The service
    deletes the object once read.
    """

    object_name: str = Field(pattern=INBOX_OBJECT_PATTERN)
    original_filename: str | None = Field(default=None, min_length=1, max_length=255)

    @model_validator(mode="after")
    def _object_of_the_tenant(self) -> Self:
        if not self.object_name.startswith(f"{self.tenant_id}/"):
            raise ValueError("the object must be named under the request's tenant")
        return self


class ForgetAudio(TenantMessage):
    """Delete now the files and rows of the tenant's uploads and recordings that no prompt
    plays any more (sent once their prompts are deleted: a prompt, a voicemail message, a
    tenant, by the admin API or the retention job).

    A key still played by a prompt, another tenant's, or a text-to-speech render (shared by
    every tenant) is kept; a key with files but no row any more (its tenant was erased) has
    its files removed.
    """

    keys: list[Annotated[str, Field(pattern=KEY_PATTERN)]] = Field(
        min_length=1, max_length=MAX_KEYS_TO_FORGET
    )


class AudioForgotten(Message):
    """What `ForgetAudio` did."""

    removed: list[str] = Field(description="Keys whose files (and row) were deleted.")
    kept: list[str] = Field(
        description="Keys kept: still played by a prompt, another tenant's, shared, or "
        "being written by another request (the service's daily purge takes those later)."
    )


class PlayableMedia(Message):
    """Where Asterisk fetches a prompt, and what it is."""

    prompt_id: UUID | None = Field(
        default=None, description="The stored prompt (None for text spoken on the fly)."
    )
    key: str = Field(pattern=KEY_PATTERN, description="The content's cache key.")
    uri: str = Field(description="8 kHz 16-bit mono WAV: play `sound:<uri>`.")
    wideband_uri: str = Field(description="16 kHz 16-bit mono (Asterisk's wav16).")
    duration_ms: int = Field(ge=0)
    rendered: bool = Field(
        description="True when this request waited for the audio to be rendered or processed."
    )

    @property
    def media(self) -> str:
        """What ARI's `play` takes for the narrowband file."""
        return f"sound:{self.uri}"
