"""Text-to-speech engines (the port is `rcp_media.ports.TtsEngine`): where each one is found.

Adding an engine (a local neural voice, a cloud API) means writing one module with an
`async def create(metrics: MediaMetrics) -> TtsEngine` and naming it in `ENGINES`;
`RCP_MEDIA_TTS_ENGINE` picks one.
The service turns the 16-bit mono PCM WAV an engine writes, at any rate, into the formats
Asterisk plays.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from rcp_media.metrics import MediaMetrics
from rcp_media.ports import TtsEngine

EngineFactory = Callable[[MediaMetrics], Awaitable[TtsEngine]]

# Engine name -> module defining `async def create(metrics) -> TtsEngine` (imported only when
# chosen).
ENGINES: dict[str, str] = {
    "espeak-ng": "rcp_media.tts.espeak",
}


async def create_engine(name: str, metrics: MediaMetrics) -> TtsEngine:
    """Start the named engine (it checks that it can run and lists its voices); it counts
    in `metrics` what it has to (its workers' stops)."""
    if name not in ENGINES:
        raise RuntimeError(f"unknown TTS engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    module = importlib.import_module(ENGINES[name])
    factory: EngineFactory = module.create
    return await factory(metrics)
