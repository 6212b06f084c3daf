"""The media service's logic: make prompts playable, ingest audio, keep the cache bounded.

An entry (one content key, two files) is found in this order: this process's memory of
entries it saw on disk; Postgres and the disk; else it is rendered. Concurrent requests
for one key share one render: in this process through one task per key, across instances
through a Postgres advisory lock on the key (the folder is shared by every instance).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeGuard

import structlog

from rcp_media.audio import Playable, wav_duration_ms
from rcp_media.errors import (
    EmptyAudio,
    EmptyText,
    FileTooLarge,
    MediaError,
    MediaLost,
    PromptNotFound,
    RenderFailed,
    TenantNotFound,
    TextTooLong,
)
from rcp_media.keys import AudioFormat, Kind, content_key, normalise_text, tts_key
from rcp_media.metrics import MediaMetrics
from rcp_media.ports import AudioTools, TtsEngine
from rcp_media.store import CacheIndex, Entry, FileStore, StoredPrompt, TtsRecipe

log = structlog.get_logger(__name__)

Produce = Callable[[Path, Playable], Awaitable[None]]
"""Writes an entry's two files into a work folder."""

# Entries this process saw on disk, remembered so that a hit costs no query.
KNOWN_MAX = 100_000
# A hit marks its entry as used in Postgres at most this often (for LRU eviction).
TOUCH_EVERY_S = 60.0
TENANT_TTL_S = 60.0
TENANTS_MAX = 10_000
# Eviction stops a little under the bound, so that it does not run after every render.
LOW_WATER = 0.9
EVICTION_BATCH = 100
# Rows that can go: uploads and recordings no prompt plays for a day (their prompt was
# deleted); renders evicted and unused for 30 days. Stray files: an hour old.
PURGE_UNPLAYED_AFTER_S = 24 * 3600.0
PURGE_EVICTED_AFTER_S = 30 * 24 * 3600.0
STRAY_AFTER_S = 3600.0
POLL_START_S = 0.05
POLL_MAX_S = 0.5


@dataclass(frozen=True)
class Limits:
    """What the service accepts, and how long work may take."""

    tts_max_chars: int
    upload_max_bytes: int
    upload_max_s: float
    render_timeout_s: float
    cache_max_bytes: int
    cache_min_idle_s: float


@dataclass(frozen=True)
class Ready:
    """An entry on disk."""

    key: str
    duration_ms: int
    size_bytes: int
    rendered: bool
    prompt_id: uuid.UUID | None = None
    kind: Kind | None = None  # None: not known here (a hit on an entry another made)


@dataclass(frozen=True)
class _Wanted:
    """An entry to have on disk: its key and kind, its owner, and how to make it (if it can
    be made again: a TTS render can, a lost upload cannot)."""

    key: str
    kind: Kind
    tenant_id: uuid.UUID | None
    produce: Produce | None = None
    recipe: TtsRecipe | None = None


@dataclass
class _Known:
    tenant_id: uuid.UUID | None  # None: a TTS render, shared
    duration_ms: int
    size_bytes: int
    touched: float
    kind: Kind


def _servable(kind: Kind, expiring: bool) -> bool:
    """Recordings (voicemail) only at URLs that expire; prompts at any."""
    return expiring or kind is not Kind.RECORDING


class MediaService:
    """Ensures, ingests and evicts; knows nothing of NATS or HTTP."""

    def __init__(
        self,
        *,
        index: CacheIndex,
        files: FileStore,
        engine: TtsEngine,
        audio: AudioTools,
        limits: Limits,
        metrics: MediaMetrics,
        render_concurrency: int,
    ) -> None:
        self.limits = limits
        self._render_slots = asyncio.Semaphore(render_concurrency)  # renders at once, here
        self._index = index
        self._files = files
        self._engine = engine
        self._audio = audio
        self._metrics = metrics
        self._inflight: dict[str, asyncio.Task[Ready]] = {}
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._untouched: set[str] = set()
        self._tenants: dict[uuid.UUID, tuple[str, float]] = {}

    # --- asking for audio ------------------------------------------------------------------

    async def ensure_text(
        self, tenant_id: uuid.UUID, text: str, language: str | None, voice: str | None
    ) -> Ready:
        """Speech for `text`, in `language` (default: the tenant's locale)."""
        locale = await self._tenant_locale(tenant_id)
        recipe = self._recipe(text, language or locale, voice)
        return await self._speak(recipe)

    async def ensure_prompt(self, tenant_id: uuid.UUID, prompt_id: uuid.UUID) -> Ready:
        """The audio of a stored prompt; a TTS prompt is rendered (and marked ready) if needed."""
        prompt = await self._index.prompt(tenant_id, prompt_id)
        if prompt is None:
            raise PromptNotFound(f"no prompt {prompt_id} for this tenant", prompt_id=str(prompt_id))
        if prompt.source is Kind.TTS:
            ready = await self._ensure_tts_prompt(tenant_id, prompt_id, prompt)
        else:
            if not prompt.ready or prompt.content_hash is None:
                raise PromptNotFound(f"prompt {prompt_id} has no audio", prompt_id=str(prompt_id))
            ready = await self._materialize(_Wanted(prompt.content_hash, prompt.source, tenant_id))
        return replace(ready, prompt_id=prompt_id)

    async def ingest(
        self, tenant_id: uuid.UUID, source: Kind, audio: Path, original_filename: str | None
    ) -> Ready:
        """Check, process and store an upload or a recording as a new prompt of the tenant."""
        await self._tenant_locale(tenant_id)
        size, digest = await asyncio.to_thread(_size_and_sha256, audio)
        self.check_size(size)
        key = content_key(source, tenant_id, digest)
        ready = await self._materialize(
            _Wanted(key, source, tenant_id, partial(self._process, audio))
        )
        prompt_id = await self._index.create_prompt(
            tenant_id,
            source=source,
            original_filename=original_filename,
            key=key,
            duration_ms=ready.duration_ms,
            size_bytes=ready.size_bytes,
        )
        if not self._files.present(key):
            # The same bytes' older prompt was deleted and its audio forgotten between the
            # render and the new prompt's row: make it again (the upload is still here).
            self._known.pop(key, None)
            await self._materialize(_Wanted(key, source, tenant_id, partial(self._process, audio)))
        log.info("media.ingested", tenant_id=str(tenant_id), source=source.value, key=key)
        return replace(ready, prompt_id=prompt_id)

    async def forget(self, tenant_id: uuid.UUID, keys: list[str]) -> tuple[list[str], list[str]]:
        """Delete the files and rows of the tenant's uploads and recordings no prompt plays
        any more (and files no row describes); return the keys removed and the keys kept."""
        removed: list[str] = []
        kept: list[str] = []
        for key in dict.fromkeys(keys):
            async with self._index.exclusive(key) as locked:
                if locked is None or not await locked.forget(tenant_id):
                    kept.append(key)
                    continue
                self._files.remove(key)  # under the lock: no render of it is under way
            self._known.pop(key, None)
            removed.append(key)
        if removed:
            log.info("media.forgotten", tenant_id=str(tenant_id), removed=len(removed))
        return removed, kept

    def check_size(self, size: int) -> None:
        """Refuse an empty or over-size file before reading it."""
        if size == 0:
            raise EmptyAudio("the file is empty")
        if size > self.limits.upload_max_bytes:
            raise FileTooLarge(
                f"the file is larger than {self.limits.upload_max_bytes} bytes",
                max_bytes=self.limits.upload_max_bytes,
                size_bytes=size,
            )

    async def file_for(
        self, key: str, tenant_id: uuid.UUID, audio_format: AudioFormat, *, expiring: bool = False
    ) -> Path | None:
        """An entry's file for HTTP (rendered again if gone); None if not `tenant_id`'s, or if
        a recording is asked for at a URL that does not expire."""
        known = self._known.get(key)
        path = self._files.playable(key).path(audio_format)
        if known is not None and path.is_file():
            if known.tenant_id not in (None, tenant_id) or not _servable(known.kind, expiring):
                return None
            self._used(key)
            return path
        entry = await self._index.entry(key)
        if entry is None or (entry.tenant_id is not None and entry.tenant_id != tenant_id):
            return None
        if not _servable(entry.kind, expiring):
            return None
        recipe = _recipe_of(entry)
        if recipe is not None and (recipe.engine, recipe.engine_version) != (
            self._engine.name,
            self._engine.version,
        ):
            # Rendered by another engine or version: today's engine is the closest we have.
            recipe = replace(recipe, engine=self._engine.name, engine_version=self._engine.version)
        produce = None if recipe is None else partial(self._speak_into, recipe)
        try:
            await self._materialize(_Wanted(key, entry.kind, entry.tenant_id, produce, recipe))
        except MediaError:
            log.warning("media.http_unavailable", key=key, exc_info=True)
            return None
        return path

    # --- text to speech --------------------------------------------------------------------

    def _recipe(self, text: str, language: str, voice: str | None) -> TtsRecipe:
        spoken = normalise_text(text)
        if not spoken:
            raise EmptyText("the text has nothing to say")
        if len(spoken) > self.limits.tts_max_chars:
            raise TextTooLong(
                f"the text has {len(spoken)} characters; at most "
                f"{self.limits.tts_max_chars} are spoken",
                max_chars=self.limits.tts_max_chars,
                length=len(spoken),
            )
        chosen = self._engine.voice_for(language, voice)
        return TtsRecipe(self._engine.name, self._engine.version, chosen, language, spoken)

    async def _speak(self, recipe: TtsRecipe) -> Ready:
        key = tts_key(
            recipe.engine, recipe.engine_version, recipe.voice, recipe.language, recipe.text
        )
        return await self._materialize(
            _Wanted(key, Kind.TTS, None, partial(self._speak_into, recipe), recipe)
        )

    async def _speak_into(self, recipe: TtsRecipe, work: Path, out: Playable) -> None:
        # Resampled as it is spoken; closed whatever happens, so that a failed resample stops
        # the engine (`_render` bounds the whole in time).
        speech = self._engine.synthesize(recipe.text, recipe.voice, recipe.language)
        async with contextlib.aclosing(speech):
            await self._audio.convert_speech(speech, out)

    async def _ensure_tts_prompt(
        self, tenant_id: uuid.UUID, prompt_id: uuid.UUID, prompt: StoredPrompt
    ) -> Ready:
        if prompt.tts_text is None or prompt.language is None:  # the schema forbids it
            raise PromptNotFound(f"prompt {prompt_id} has no text", prompt_id=str(prompt_id))
        try:
            recipe = self._recipe(prompt.tts_text, prompt.language, prompt.voice)
        except MediaError as refused:
            # The admin sees why: the prompt fails with the code until its text is changed.
            await self._index.tts_prompt_failed(tenant_id, prompt_id, prompt, refused.code)
            raise
        ready = await self._speak(recipe)
        if not prompt.ready or prompt.content_hash != ready.key:
            await self._index.tts_prompt_rendered(
                tenant_id,
                prompt_id,
                prompt,
                key=ready.key,
                duration_ms=ready.duration_ms,
                size_bytes=ready.size_bytes,
            )
        return ready

    # --- uploads and recordings ------------------------------------------------------------

    async def _process(self, audio: Path, work: Path, out: Playable) -> None:
        await self._audio.process_upload(
            audio, work, out, self.limits.upload_max_s, self.limits.render_timeout_s
        )

    # --- the cache ---------------------------------------------------------------------------

    async def _materialize(self, wanted: _Wanted) -> Ready:
        """The entry on disk: a hit, or one render shared by every concurrent request."""
        key, kind = wanted.key, wanted.kind
        known = self._known.get(key)
        if known is not None and self._files.present(key):
            self._used(key)
            self._metrics.lookups.labels(kind=kind.value, result="hit").inc()
            return Ready(key, known.duration_ms, known.size_bytes, rendered=False, kind=known.kind)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._load_or_render(wanted))
            self._inflight[key] = task
            task.add_done_callback(partial(self._settled, key))
        # Shielded: a requester that gives up does not cancel the others' render.
        ready = await asyncio.shield(task)
        result = "miss" if ready.rendered else "hit"
        self._metrics.lookups.labels(kind=kind.value, result=result).inc()
        return ready

    def _settled(self, key: str, task: asyncio.Task[Ready]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here too: every waiter may have gone

    async def _load_or_render(self, wanted: _Wanted) -> Ready:
        key, kind, tenant_id, produce = wanted.key, wanted.kind, wanted.tenant_id, wanted.produce
        entry = await self._index.entry(key)
        if self._usable(entry):
            await self._index.touch([key])
            return self._remember(entry, rendered=False)
        if produce is None:
            log.error("media.lost", key=key, kind=kind.value)
            raise MediaLost("the audio file of this prompt is gone", key=key)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.render_timeout_s
        delay = POLL_START_S
        async with self._render_slots:
            while True:
                async with self._index.exclusive(key) as locked:
                    if locked is not None:
                        entry = await locked.entry()
                        if self._usable(entry):  # another instance finished just before
                            return self._remember(entry, rendered=True)
                        duration_ms, size_bytes = await self._render(key, kind, produce)
                        await locked.record(kind, tenant_id, wanted.recipe, duration_ms, size_bytes)
                        made = _Known(tenant_id, duration_ms, size_bytes, time.monotonic(), kind)
                        return self._remember_known(key, made, rendered=True)
                # Another instance renders this key: wait for it rather than render twice.
                if loop.time() >= deadline:
                    raise RenderFailed("another instance is still rendering this", key=key)
                await asyncio.sleep(delay)
                delay = min(delay * 2, POLL_MAX_S)
                entry = await self._index.entry(key)
                if self._usable(entry):
                    return self._remember(entry, rendered=True)

    def _usable(self, entry: Entry | None) -> TypeGuard[Entry]:
        return entry is not None and entry.ready and self._files.present(entry.key)

    async def _render(self, key: str, kind: Kind, produce: Produce) -> tuple[int, int]:
        started = time.perf_counter()
        try:
            with self._files.work_folder() as work:
                out = Playable(work / "out.wav", work / "out.wav16")
                try:
                    # One bound for the whole render, however many tools it runs.
                    async with asyncio.timeout(self.limits.render_timeout_s):
                        await produce(work, out)
                except TimeoutError as error:
                    raise RenderFailed(
                        f"rendering took longer than {self.limits.render_timeout_s:g} s", key=key
                    ) from error
                duration_ms = wav_duration_ms(out.narrowband)
                size_bytes = self._files.install(key, out)
        except MediaError as error:
            outcome = "failed" if isinstance(error, RenderFailed) else "refused"
            self._metrics.renders.labels(kind=kind.value, outcome=outcome).inc()
            raise
        except Exception:
            self._metrics.renders.labels(kind=kind.value, outcome="failed").inc()
            raise
        elapsed = time.perf_counter() - started
        self._metrics.renders.labels(kind=kind.value, outcome="ok").inc()
        self._metrics.render_seconds.labels(kind=kind.value).observe(elapsed)
        log.info("media.rendered", key=key, kind=kind.value, seconds=round(elapsed, 3))
        return duration_ms, size_bytes

    def _remember(self, entry: Entry, *, rendered: bool) -> Ready:
        known = _Known(
            entry.tenant_id, entry.duration_ms, entry.size_bytes, time.monotonic(), entry.kind
        )
        return self._remember_known(entry.key, known, rendered=rendered)

    def _remember_known(self, key: str, known: _Known, *, rendered: bool) -> Ready:
        self._known[key] = known
        self._known.move_to_end(key)
        while len(self._known) > KNOWN_MAX:
            self._known.popitem(last=False)
        return Ready(key, known.duration_ms, known.size_bytes, rendered, kind=known.kind)

    def _used(self, key: str) -> None:
        known = self._known[key]
        self._known.move_to_end(key)
        now = time.monotonic()
        if now - known.touched > TOUCH_EVERY_S:
            known.touched = now
            self._untouched.add(key)

    async def flush_touches(self) -> None:
        """Write the use of recent hits to Postgres."""
        keys, self._untouched = sorted(self._untouched), set()
        await self._index.touch(keys)

    async def _tenant_locale(self, tenant_id: uuid.UUID) -> str:
        cached = self._tenants.get(tenant_id)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        locale = await self._index.tenant_locale(tenant_id)
        if locale is None:
            raise TenantNotFound(f"no tenant {tenant_id}", tenant_id=str(tenant_id))
        if len(self._tenants) >= TENANTS_MAX:
            self._tenants.clear()
        self._tenants[tenant_id] = (locale, now + TENANT_TTL_S)
        return locale

    # --- keeping the cache bounded -------------------------------------------------------------

    async def maintain(self, *, sweep_disk: bool = False) -> None:
        """Evict least recently used renders past the size bound, purge rows nothing needs,
        and (with `sweep_disk`) remove files no row describes."""
        await self.flush_touches()
        total = await self._index.ready_bytes()
        if total > self.limits.cache_max_bytes:
            total = await self._evict(total)
        self._metrics.cache_bytes.set(total)
        await self._purge()
        if sweep_disk:
            await self._sweep_strays()

    async def _evict(self, total: int) -> int:
        target = int(self.limits.cache_max_bytes * LOW_WATER)
        idle = self.limits.cache_min_idle_s
        while total > target:
            candidates = await self._index.eviction_candidates(idle, EVICTION_BATCH)
            evicted = 0
            for key, size in candidates:
                if total <= target:
                    break
                async with self._index.exclusive(key) as locked:
                    if locked is None or not await locked.evict(idle):
                        continue
                    self._files.remove(key)  # under the lock: no render of it is under way
                self._known.pop(key, None)
                total -= size
                evicted += 1
                self._metrics.evictions.inc()
            if evicted == 0:
                if total > self.limits.cache_max_bytes:
                    log.warning(
                        "media.cache_over_bound",
                        bytes=total,
                        bound=self.limits.cache_max_bytes,
                        reason="every file is an upload, a recording, played by a prompt "
                        "or recently used",
                    )
                break
        return total

    async def _purge(self) -> None:
        for key in await self._index.purge_candidates(
            PURGE_UNPLAYED_AFTER_S, PURGE_EVICTED_AFTER_S, EVICTION_BATCH
        ):
            async with self._index.exclusive(key) as locked:
                if locked is None or not await locked.purge(
                    PURGE_UNPLAYED_AFTER_S, PURGE_EVICTED_AFTER_S
                ):
                    continue
                self._files.remove(key)
            self._known.pop(key, None)
            log.info("media.purged", key=key)

    async def _sweep_strays(self) -> None:
        keys = sorted(set(await asyncio.to_thread(_list_keys, self._files, STRAY_AFTER_S)))
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            described = await self._index.ready_among(batch)
            for key in batch:
                if key in described:
                    continue
                async with self._index.exclusive(key) as locked:
                    if locked is None or self._usable(await locked.entry()):
                        continue
                    self._files.remove(key)
                self._known.pop(key, None)
                log.info("media.stray_removed", key=key)

    async def close(self) -> None:
        """Stop renders under way and record the last hits."""
        for task in list(self._inflight.values()):
            task.cancel()
        for task in list(self._inflight.values()):
            with contextlib.suppress(BaseException):
                await task
        await self.flush_touches()


def _recipe_of(entry: Entry) -> TtsRecipe | None:
    if entry.kind is not Kind.TTS:
        return None
    if None in (entry.engine, entry.engine_version, entry.voice, entry.language, entry.tts_text):
        return None  # the schema forbids it
    return TtsRecipe(
        str(entry.engine),
        str(entry.engine_version),
        str(entry.voice),
        str(entry.language),
        str(entry.tts_text),
    )


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as content:
        for block in iter(lambda: content.read(1024 * 1024), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _list_keys(files: FileStore, older_than_s: float) -> list[str]:
    return list(files.keys_on_disk(older_than_s))
