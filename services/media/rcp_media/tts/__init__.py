"""Text-to-speech engines: the port, and where each engine's module is found.

Adding an engine (a local neural voice, a cloud API) means writing one module with an
`async def create() -> TtsEngine` and naming it in `ENGINES`; `RCP_MEDIA_TTS_ENGINE` picks one.
The service turns whatever WAV an engine writes into the formats Asterisk plays.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol


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


EngineFactory = Callable[[], Awaitable[TtsEngine]]

# Engine name -> module defining `async def create() -> TtsEngine` (imported only when chosen).
ENGINES: dict[str, str] = {
    "espeak-ng": "rcp_media.tts.espeak",
}


async def create_engine(name: str) -> TtsEngine:
    """Start the named engine (it checks that it can run and lists its voices)."""
    if name not in ENGINES:
        raise RuntimeError(f"unknown TTS engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    module = importlib.import_module(ENGINES[name])
    factory: EngineFactory = module.create
    return await factory()
