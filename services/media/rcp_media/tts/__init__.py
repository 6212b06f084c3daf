"""Text-to-speech engines (the port is `rcp_media.ports.TtsEngine`): where each one is found.

Adding an engine (a local neural voice, a cloud API) means writing one module with an
`async def create(metrics: MediaMetrics, limit: SynthesisLimit) -> TtsEngine` (it counts its
processes' stops in `metrics`, and fails a text not spoken within `limit`) and naming it in
`ENGINES`; `RCP_MEDIA_TTS_ENGINE` picks one.
The service turns the 16-bit mono PCM WAV an engine writes, at any rate, into the formats
Asterisk plays.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rcp_media.metrics import MediaMetrics
from rcp_media.ports import TtsEngine

# The text length the synthesis time limit is given for; a longer text gets proportionally more.
LIMIT_CHARS = 1000


@dataclass(frozen=True)
class SynthesisLimit:
    """How long an engine may take to speak a text: `per_kchar_s` for 1000 characters, as
    much for a shorter text, proportionally more for a longer one."""

    per_kchar_s: float

    def for_text(self, text: str) -> float:
        """The time allowed to speak `text`, in seconds."""
        return self.per_kchar_s * max(1.0, len(text) / LIMIT_CHARS)


EngineFactory = Callable[[MediaMetrics, SynthesisLimit], Awaitable[TtsEngine]]

# Engine name -> module defining `async def create(metrics, limit) -> TtsEngine` (imported
# only when chosen).
ENGINES: dict[str, str] = {
    "espeak-ng": "rcp_media.tts.espeak",
}


async def create_engine(name: str, metrics: MediaMetrics, limit: SynthesisLimit) -> TtsEngine:
    """Start the named engine (it checks that it can run and lists its voices); it counts
    in `metrics` what it has to (its workers' stops) and speaks each text within `limit`."""
    if name not in ENGINES:
        raise RuntimeError(f"unknown TTS engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    module = importlib.import_module(ENGINES[name])
    factory: EngineFactory = module.create
    return await factory(metrics, limit)
