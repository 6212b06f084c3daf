"""What the media service needs of the world, as Protocols; the adapters stand beside them.

- `TtsEngine`: speaks text as a WAV stream; adapters in `rcp_media.tts` (espeak-ng).
- `AudioTools`: turns speech and uploads into what Asterisk plays; adapter
  `rcp_media.audio.FfmpegTools`.
- `Inbox`: where uploads wait to be ingested; adapter `rcp_media.inbox.NatsInbox`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rcp_media.audio import Playable


class TtsEngine(Protocol):
    """Speaks text as a WAV stream."""

    @property
    def name(self) -> str:
        """The engine's name, part of every cache key it renders."""
        ...

    @property
    def version(self) -> str:
        """The engine's version: a new version renders new files rather than reuse old ones."""
        ...

    async def start(self) -> None:
        """Start what the engine keeps running (its processes), so that the first text does
        not wait for it; raises if the engine cannot run."""
        ...

    def voice_for(self, language: str, voice: str | None) -> str:
        """The voice that speaks `language`: `voice` when given and known, else the language's
        default; raises `UnsupportedLanguage` or `UnsupportedVoice`."""
        ...

    def synthesize(self, text: str, voice: str, language: str) -> AsyncGenerator[bytes, None]:
        """`text` spoken by `voice`: a 16-bit mono PCM WAV stream at any rate, yielded as it
        is made (its header may give no length); raises `RenderFailed` if nothing is spoken."""
        ...

    async def close(self) -> None:
        """Stop what the engine keeps running (its processes)."""
        ...


class AudioTools(Protocol):
    """Turns speech and uploads into the files Asterisk plays."""

    async def convert_speech(self, speech: AsyncIterable[bytes], out: Playable) -> None:
        """Resample a TTS engine's WAV stream into both formats as it comes (no other
        processing); raises `RenderFailed`."""
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
