"""What the media service needs of the world, as Protocols; the adapters stand beside them.

- `TtsEngine`: speaks text to a WAV file; adapters in `rcp_media.tts` (espeak-ng).
- `AudioTools`: turns speech and uploads into what Asterisk plays; adapter
  `rcp_media.audio.FfmpegTools`.
- `Inbox`: where uploads wait to be ingested; adapter `rcp_media.inbox.NatsInbox`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rcp_media.audio import Playable


class TtsEngine(Protocol):
    """Speaks text to a WAV file."""

    @property
    def name(self) -> str:
        """The engine's name, part of every cache key it renders."""
        ...

    @property
    def version(self) -> str:
        """The engine's version: a new version renders new files rather than reuse old ones."""
        ...

    def voice_for(self, language: str, voice: str | None) -> str:
        """The voice that speaks `language`: `voice` when given and known, else the language's
        default; raises `UnsupportedLanguage` or `UnsupportedVoice`."""
        ...

    async def synthesize(
        self, text: str, voice: str, language: str, destination: Path, timeout_s: float
    ) -> None:
        """Write `text` spoken by `voice` to `destination`: a mono WAV file at any rate."""
        ...


class AudioTools(Protocol):
    """Turns speech and uploads into the files Asterisk plays."""

    async def convert_speech(self, source: Path, out: Playable, timeout_s: float) -> None:
        """Resample a TTS engine's WAV into both formats (no other processing)."""
        ...

    async def process_upload(
        self, source: Path, work: Path, out: Playable, max_s: float, timeout_s: float
    ) -> None:
        """Recognise, check, decode, trim silence, normalise loudness, write both formats;
        raises NotAudio, UnsupportedAudioFormat, CorruptAudio, EmptyAudio or AudioTooLong."""
        ...


class Inbox(Protocol):
    """Objects put by requesters, read once by the service."""

    async def size(self, name: str) -> int | None:
        """An object's size in bytes, or None if there is no such object."""
        ...

    async def fetch(self, name: str, destination: Path) -> None:
        """Write an object to a file."""
        ...

    async def remove(self, name: str) -> None:
        """Delete an object (nothing happens if it is gone already)."""
        ...
