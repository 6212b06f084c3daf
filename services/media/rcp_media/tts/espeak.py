"""The default TTS engine: espeak-ng, Debian's package, offline, with voices for 100+ languages.

Voices are espeak-ng's language names (`fr-fr`, `en-us`, `de`...), optionally with a variant
(`fr-fr+f3`). A locale (`fr-FR`) is spoken by the voice of that exact language if there is
one, else by the best voice of its base language (`es-ES` -> `es`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from rcp_media.errors import RenderFailed, UnsupportedLanguage, UnsupportedVoice
from rcp_media.process import require_tool, run, spawned

NAME = "espeak-ng"
_VERSION = re.compile(r"text-to-speech:\s*(\S+)")
# "Pty Language Age/Gender VoiceName File Other Languages"
_VOICE_LINE = re.compile(r"^\s*(\d+)\s+(\S+)\s+\S+\s+\S+\s+(\S+)\s*(.*)$")
_ALSO_SPEAKS = re.compile(r"\((\S+) (\d+)\)")
PROBE_TIMEOUT_S = 30.0
WAV_HEADER_BYTES = 44
# Read from espeak-ng at most this much at a time (it writes 4 KiB or so at once).
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Voices:
    """What an espeak-ng installation can speak."""

    languages: frozenset[str]
    # Base language -> the voice that speaks it best (e.g. "fr" -> "fr-fr", "en" -> "en-gb").
    fallbacks: dict[str, str] = field(default_factory=dict)
    variants: frozenset[str] = frozenset()
    # Language -> the file of the voice that speaks it first ("fr-fr" -> "roa/fr"), when one
    # voice ranks first (on a tie, espeak-ng chooses by other criteria).
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, voices: str, variants: str) -> Voices:
        """Read `espeak-ng --voices` and `espeak-ng --voices=variant`."""
        ranked: dict[str, tuple[int, str]] = {}
        first: dict[str, list[tuple[int, str]]] = {}
        for line in voices.splitlines()[1:]:
            match = _VOICE_LINE.match(line)
            if match is None:
                continue
            rank, language, file, others = match.groups()
            first.setdefault(language, []).append((int(rank), file))
            for other, priority in _ALSO_SPEAKS.findall(others):
                best = ranked.get(other)
                if best is None or int(priority) < best[0]:
                    ranked[other] = (int(priority), language)
        variant_names = {
            match.group(3).removeprefix("!v/")
            for line in variants.splitlines()[1:]
            if (match := _VOICE_LINE.match(line)) is not None
        }
        files = {}
        for language, candidates in first.items():
            candidates.sort()
            if len(candidates) == 1 or candidates[0][0] < candidates[1][0]:
                files[language] = candidates[0][1]
        return cls(
            languages=frozenset(first),
            fallbacks={other: language for other, (_, language) in ranked.items()},
            variants=frozenset(variant_names),
            files=files,
        )

    def argument(self, voice: str) -> str:
        """What espeak-ng's `-v` is given for `voice`: the file of a language's voice, which
        espeak-ng reads alone and speaks with alike, where a language's name makes it read
        every voice file (some 400) to choose one: a quarter of its CPU time for a sentence.
        A variant (`fr-fr+f3`) is left to espeak-ng's choice: by file, it speaks otherwise."""
        if "+" in voice:
            return voice
        return self.files.get(voice, voice)

    def for_locale(self, locale: str) -> str | None:
        """The voice of a locale such as `fr-FR`, or None."""
        exact = locale.lower()
        base = exact.split("-", 1)[0]
        for candidate in (exact, base):
            if candidate in self.languages:
                return candidate
            if candidate in self.fallbacks:
                return self.fallbacks[candidate]
        return None

    def knows(self, voice: str) -> bool:
        """Whether `voice` (`language` or `language+variant`) exists."""
        language, _, variant = voice.partition("+")
        return language in self.languages and (not variant or variant in self.variants)


class EspeakEngine:
    """espeak-ng run as a command, one process per render."""

    def __init__(self, executable: str, version: str, voices: Voices) -> None:
        self._executable = executable
        self._version = version
        self.voices = voices

    @property
    def name(self) -> str:
        """The engine's name."""
        return NAME

    @property
    def version(self) -> str:
        """espeak-ng's version."""
        return self._version

    def voice_for(self, language: str, voice: str | None) -> str:
        """The voice given if espeak-ng has it, else the locale's."""
        if voice is not None:
            if not self.voices.knows(voice):
                raise UnsupportedVoice(f"espeak-ng has no voice {voice!r}", voice=voice)
            return voice
        found = self.voices.for_locale(language)
        if found is None:
            raise UnsupportedLanguage(
                f"espeak-ng cannot speak {language}", language=language, engine=NAME
            )
        return found

    async def synthesize(self, text: str, voice: str, language: str) -> AsyncGenerator[bytes, None]:
        """Speak `text`: a 22.05 kHz WAV stream, yielded as espeak-ng writes it (its header
        gives no length: the stream is read to its end)."""
        # The text goes on stdin: as an argument, a text starting with "-" would be an option.
        async with spawned(
            [self._executable, "-v", self.voices.argument(voice), "-b", "1", "--stdout", "--stdin"]
        ) as espeak:

            async def feed() -> None:
                await espeak.write(text.encode())
                await espeak.close_stdin()

            # Fed while read: a long text may not fit in the pipe before speech comes out.
            feeding = asyncio.create_task(feed())
            try:
                produced = 0
                while chunk := await espeak.stdout.read(CHUNK_BYTES):
                    produced += len(chunk)
                    yield chunk
                await feeding
            finally:
                feeding.cancel()
            done = await espeak.wait()
        if done.returncode != 0 or produced <= WAV_HEADER_BYTES:
            raise RenderFailed(
                "espeak-ng produced no audio",
                engine=NAME,
                voice=voice,
                stderr=done.stderr[-500:],
            )


async def create() -> EspeakEngine:
    """Find espeak-ng and read its version and voices."""
    executable = require_tool("espeak-ng")
    version = await run([executable, "--version"], timeout_s=PROBE_TIMEOUT_S)
    found = _VERSION.search(version.stdout.decode(errors="replace"))
    if found is None:
        raise RuntimeError(f"cannot read espeak-ng's version from {version.stdout!r}")
    voices = await run([executable, "--voices"], timeout_s=PROBE_TIMEOUT_S)
    variants = await run([executable, "--voices=variant"], timeout_s=PROBE_TIMEOUT_S)
    return EspeakEngine(
        executable,
        found.group(1),
        Voices.parse(
            voices.stdout.decode(errors="replace"), variants.stdout.decode(errors="replace")
        ),
    )
