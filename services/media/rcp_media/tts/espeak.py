"""The default TTS engine: espeak-ng, Debian's package, offline, with voices for 100+ languages.

Voices are espeak-ng's language names (`fr-fr`, `en-us`, `de`...), optionally with a variant
(`fr-fr+f3`). A locale (`fr-FR`) is spoken by the voice of that exact language if there is
one, else by the best voice of its base language (`es-ES` -> `es`).

The command lists the voices; texts are spoken by resident workers (`espeak_worker`), which
speak the same samples as the command without paying for its start each time.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import re
import signal
import struct
import sys
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import structlog

from rcp_media.errors import RenderFailed, UnsupportedLanguage, UnsupportedVoice
from rcp_media.metrics import MediaMetrics
from rcp_media.process import require_tool, run
from rcp_media.tts import SynthesisLimit, espeak_worker

log = structlog.get_logger(__name__)

NAME = "espeak-ng"
WORKER = espeak_worker.__file__
# A worker found gone before it spoke is replaced and asked again, once.
ATTEMPTS = 2
# What is kept of a worker's stderr: its last chunks (espeak-ng writes a line at a time).
STDERR_CHUNKS = 20
STDERR_CHUNK_BYTES = 4096
READ_BYTES = 256 * 1024
_VERSION = re.compile(r"text-to-speech:\s*(\S+)")
# "Pty Language Age/Gender VoiceName File Other Languages"
_VOICE_LINE = re.compile(r"^\s*(\d+)\s+(\S+)\s+\S+\s+\S+\s+(\S+)\s*(.*)$")
_ALSO_SPEAKS = re.compile(r"\((\S+) (\d+)\)")
PROBE_TIMEOUT_S = 30.0
WAV_HEADER_BYTES = 44


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


class _WorkerGone(Exception):
    """The worker process ended (or broke its protocol): it is not used again."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


class _TimedOut(Exception):
    """The worker did not finish speaking by its deadline (espeak-ng looping, or stopped)."""


@dataclass(eq=False)  # each worker is itself: kept in a set by identity
class _Worker:
    """A running `espeak_worker`: one text at a time."""

    process: asyncio.subprocess.Process
    stdin: asyncio.StreamWriter
    stdout: asyncio.StreamReader
    rate: int
    _stderr: collections.deque[bytes]
    _draining: asyncio.Task[None]

    @classmethod
    async def start(cls) -> _Worker:
        """Start a worker and wait until espeak-ng is ready in it."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",  # neither the environment's Python settings nor the user's site
            "-S",
            WORKER,
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its group, with the child speaking, is killed as one
        )
        stdin, stdout, stderr = process.stdin, process.stdout, process.stderr
        if stdin is None or stdout is None or stderr is None:  # asked for above: never
            raise RuntimeError("the espeak-ng worker started without its pipes")
        tail: collections.deque[bytes] = collections.deque(maxlen=STDERR_CHUNKS)
        worker = cls(process, stdin, stdout, 0, tail, asyncio.create_task(_drain(stderr, tail)))
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                ((kind, payload), *_) = await worker._frames(bytearray())
        except (_WorkerGone, TimeoutError) as failed:
            await worker.stop()
            message = f"the espeak-ng worker did not start: {failed!r}"
            raise _WorkerGone(message, worker.stderr) from failed
        except BaseException:
            await worker.stop()
            raise
        if kind != espeak_worker.READY:
            await worker.stop()
            raise _WorkerGone(payload.decode(errors="replace"), worker.stderr)
        worker.rate = int.from_bytes(payload, "little")
        return worker

    @property
    def stderr(self) -> str:
        """The end of what the worker and espeak-ng wrote on stderr."""
        return b"".join(self._stderr).decode(errors="replace")[-500:]

    async def _frames(
        self, buffer: bytearray, deadline: float | None = None
    ) -> list[tuple[bytes, bytes]]:
        """The next frames, as many as have come (at least one); `_TimedOut` if none has by
        `deadline` (the event loop's time)."""
        while not (frames := espeak_worker.split_frames(buffer)):
            try:
                async with asyncio.timeout_at(deadline):
                    data = await self.stdout.read(READ_BYTES)
            except TimeoutError:
                raise _TimedOut from None
            if not data:
                raise _WorkerGone("the espeak-ng worker stopped")
            buffer += data
        return frames

    async def speak(self, voice: str, text: str, deadline: float) -> AsyncGenerator[bytes, None]:
        """`text` spoken by `voice`: PCM as it is made; `RenderFailed` if espeak-ng fails,
        `_TimedOut` if it has not finished by `deadline` (the event loop's time)."""
        voice_bytes, text_bytes = voice.encode(), text.encode()
        try:
            self.stdin.write(espeak_worker.REQUEST.pack(len(voice_bytes), len(text_bytes)))
            self.stdin.write(voice_bytes + text_bytes)
            async with asyncio.timeout_at(deadline):
                await self.stdin.drain()
        except ConnectionError as error:  # BrokenPipeError, ConnectionResetError
            raise _WorkerGone("the espeak-ng worker stopped") from error
        except TimeoutError:
            raise _TimedOut from None
        buffer = bytearray()
        while True:
            # The audio of frames read at once is given at once: fewer, larger chunks.
            audio: list[bytes] = []
            for kind, payload in await self._frames(buffer, deadline):
                if kind == espeak_worker.AUDIO:
                    audio.append(payload)
                    continue
                if audio:
                    yield b"".join(audio)
                    audio = []
                if kind == espeak_worker.SPOKEN:
                    return
                if kind == espeak_worker.FAILED:
                    raise RenderFailed(
                        payload.decode(errors="replace"),
                        engine=NAME,
                        voice=voice,
                        stderr=self.stderr,
                    )
                raise _WorkerGone(f"the espeak-ng worker answered {kind!r}")
            if audio:
                yield b"".join(audio)

    async def stop(self) -> None:
        """Kill the worker and what it runs, and reap it."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.stdin.close()
        await self.process.wait()
        await self._draining


async def _drain(stderr: asyncio.StreamReader, tail: collections.deque[bytes]) -> None:
    while chunk := await stderr.read(STDERR_CHUNK_BYTES):
        tail.append(chunk)


def _wav_header(rate: int) -> bytes:
    """A 16-bit mono PCM WAV header whose lengths say "unknown" (a stream)."""
    return b"".join(
        (
            b"RIFF",
            struct.pack("<I", 0xFFFFFFFF),
            b"WAVEfmt ",
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16),
            b"data",
            struct.pack("<I", 0xFFFFFFFF),
        )
    )


class EspeakEngine:
    """espeak-ng, resident: workers (`espeak_worker`) with libespeak-ng loaded, each speaking
    a text at a time; one started with the service (`start`), more when none is free, kept
    while they work, replaced when they fail."""

    def __init__(
        self, version: str, voices: Voices, metrics: MediaMetrics, limit: SynthesisLimit
    ) -> None:
        self._version = version
        self.voices = voices
        self._metrics = metrics
        self._limit = limit
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()

    @property
    def name(self) -> str:
        """The engine's name."""
        return NAME

    @property
    def version(self) -> str:
        """espeak-ng's version."""
        return self._version

    async def start(self) -> None:
        """Start a worker, so that the first text is spoken without waiting for one; raises
        `RuntimeError` with espeak-ng's stderr if it cannot start."""
        try:
            worker = await _Worker.start()
        except _WorkerGone as failed:
            raise RuntimeError(f"{failed}; stderr: {failed.stderr!r}") from failed
        self._idle.append(worker)

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
        """Speak `text`: a WAV stream (22.05 kHz) yielded as espeak-ng makes it (its header
        gives no length). A worker that was gone before it spoke is replaced and asked again,
        once; one that stops while speaking, or is left while it speaks (the caller gave up,
        the render ran out of time), is killed, as is one still speaking at the synthesis time
        limit (`RenderFailed` then says so)."""
        argument = self.voices.argument(voice)
        limit_s = self._limit.for_text(text)
        deadline = asyncio.get_running_loop().time() + limit_s
        produced = 0
        for attempt in range(1, ATTEMPTS + 1):
            worker = await self._take()
            stopped: str | None = "abandoned"  # unless it answers, or ends on its own
            try:
                async with contextlib.aclosing(worker.speak(argument, text, deadline)) as speech:
                    async for chunk in speech:
                        if not produced:
                            yield _wav_header(worker.rate)
                        produced += len(chunk)
                        yield chunk
                stopped = None
            except RenderFailed:
                stopped = None  # espeak-ng failed in the worker's child: the worker is well
                raise
            except _WorkerGone as gone:
                stopped = "lost"
                if produced or attempt == ATTEMPTS:
                    raise RenderFailed(
                        "espeak-ng stopped while speaking",
                        engine=NAME,
                        voice=voice,
                        stderr=worker.stderr,
                    ) from gone
                log.warning("media.tts_worker_gone", pid=worker.process.pid, retrying=True)
                continue
            except _TimedOut as late:
                stopped = "timed_out"
                raise RenderFailed(
                    f"espeak-ng did not finish speaking within {limit_s:g} s "
                    f"({len(text)} characters)",
                    engine=NAME,
                    voice=voice,
                    stderr=worker.stderr,
                ) from late
            finally:
                await self._give_back(worker, stopped)
            break
        if not produced:
            raise RenderFailed("espeak-ng produced no audio", engine=NAME, voice=voice)

    async def _take(self) -> _Worker:
        if self._idle:
            worker = self._idle.pop()
        else:
            try:
                worker = await _Worker.start()
            except _WorkerGone as failed:
                self._metrics.tts_workers_stopped.labels(reason="unstartable").inc()
                raise RenderFailed(
                    "espeak-ng produced no audio", engine=NAME, stderr=failed.stderr
                ) from failed
        self._busy.add(worker)
        return worker

    async def _give_back(self, worker: _Worker, stopped: str | None) -> None:
        """Keep `worker` for the next text, or stop it for the reason `stopped`."""
        self._busy.discard(worker)
        if stopped is None:
            self._idle.append(worker)
            return
        await worker.stop()
        self._metrics.tts_workers_stopped.labels(reason=stopped).inc()
        log.warning(
            "media.tts_worker_stopped",
            reason=stopped,
            pid=worker.process.pid,
            returncode=worker.process.returncode,
            stderr=worker.stderr or None,
        )

    def worker_pids(self) -> list[int]:
        """The workers' process ids (each forks a child per text)."""
        return [worker.process.pid for worker in (*self._idle, *self._busy)]

    async def close(self) -> None:
        """Stop every worker."""
        workers, self._idle = [*self._idle, *self._busy], []
        self._busy.clear()
        await asyncio.gather(*(worker.stop() for worker in workers))


async def create(metrics: MediaMetrics, limit: SynthesisLimit) -> EspeakEngine:
    """Find espeak-ng and read its version and voices; its workers' stops are counted in
    `metrics`, each text is spoken within `limit`."""
    executable = require_tool("espeak-ng")
    version = await run([executable, "--version"], timeout_s=PROBE_TIMEOUT_S)
    found = _VERSION.search(version.stdout.decode(errors="replace"))
    if found is None:
        raise RuntimeError(f"cannot read espeak-ng's version from {version.stdout!r}")
    voices = await run([executable, "--voices"], timeout_s=PROBE_TIMEOUT_S)
    variants = await run([executable, "--voices=variant"], timeout_s=PROBE_TIMEOUT_S)
    return EspeakEngine(
        found.group(1),
        Voices.parse(
            voices.stdout.decode(errors="replace"), variants.stdout.decode(errors="replace")
        ),
        metrics,
        limit,
    )
