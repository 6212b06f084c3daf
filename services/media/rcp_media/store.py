"""Where entries live: their files on disk (`FileStore`) and their metadata in Postgres
(`CacheIndex`), which also holds the lock that lets one instance render a key at a time."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from rcp_media.audio import Playable
from rcp_media.keys import AudioFormat, Kind, is_key

# pg_advisory_xact_lock(namespace, key): the namespace keeps media's locks apart from others'.
LOCK_NAMESPACE = 0x6D656469  # "medi"

Connection: TypeAlias = "asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]"


class FileStore:
    """Entry files under one folder: `<root>/<key[:2]>/<key>.wav` and `.wav16`.

    Files are written in `<root>/tmp` and renamed into place, so that a reader never sees
    half a file; the folder may be shared by several instances (a ReadWriteMany volume).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def prepare(self, stale_after_s: float) -> None:
        """Create the folders; remove work folders older than `stale_after_s` (a crash's)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - stale_after_s
        for leftover in self.tmp.iterdir():
            if leftover.stat().st_mtime < cutoff:
                shutil.rmtree(leftover, ignore_errors=True)

    def playable(self, key: str) -> Playable:
        """The two files of an entry (which may not exist)."""
        folder = self.root / key[:2]
        return Playable(
            folder / f"{key}.{AudioFormat.NARROWBAND}", folder / f"{key}.{AudioFormat.WIDEBAND}"
        )

    def present(self, key: str) -> bool:
        """Whether both files of an entry are on disk."""
        files = self.playable(key)
        return files.narrowband.is_file() and files.wideband.is_file()

    @contextmanager
    def work_folder(self) -> Iterator[Path]:
        """A private folder for one render, removed afterwards."""
        folder = Path(tempfile.mkdtemp(prefix="work-", dir=self.tmp))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def install(self, key: str, produced: Playable) -> int:
        """Move rendered files into place (atomically each); return their size in bytes."""
        final = self.playable(key)
        final.narrowband.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        for audio_format in AudioFormat:
            source = produced.path(audio_format)
            size += source.stat().st_size
            os.replace(source, final.path(audio_format))
        return size

    def remove(self, key: str) -> None:
        """Delete an entry's files, if any."""
        files = self.playable(key)
        for audio_format in AudioFormat:
            files.path(audio_format).unlink(missing_ok=True)

    def keys_on_disk(self, older_than_s: float) -> Iterator[str]:
        """Keys with a file on disk last written more than `older_than_s` ago."""
        cutoff = time.time() - older_than_s
        for folder in self.root.iterdir():
            if folder == self.tmp or not folder.is_dir():
                continue
            for path in folder.iterdir():
                key = path.name.split(".", 1)[0]
                if is_key(key) and path.stat().st_mtime < cutoff:
                    yield key


@dataclass(frozen=True)
class Entry:
    """One row of `media_files`."""

    key: str
    kind: Kind
    tenant_id: uuid.UUID | None
    ready: bool
    engine: str | None
    engine_version: str | None
    voice: str | None
    language: str | None
    tts_text: str | None
    duration_ms: int
    size_bytes: int


@dataclass(frozen=True)
class TtsRecipe:
    """What renders a TTS entry again."""

    engine: str
    engine_version: str
    voice: str
    language: str
    text: str


@dataclass(frozen=True)
class StoredPrompt:
    """The columns of a prompt the media service reads."""

    source: Kind
    tts_text: str | None
    language: str | None
    voice: str | None
    content_hash: str | None
    ready: bool


_ENTRY_COLUMNS = """key, kind, tenant_id, status, engine, engine_version, voice, language,
                    tts_text, duration_ms, size_bytes"""


def _purgeable(unplayed: int, evicted: int) -> str:
    """Rows that can go: uploads and recordings no prompt has played for $unplayed seconds,
    renders evicted and unused for $evicted seconds; never a row a prompt plays."""
    return f"""((kind <> 'tts' AND last_used_at < now() - make_interval(secs => ${unplayed}))
               OR (kind = 'tts' AND status = 'evicted'
                   AND last_used_at < now() - make_interval(secs => ${evicted})))
              AND NOT EXISTS (SELECT 1 FROM prompts p WHERE p.content_hash = m.key)"""


def _entry(row: asyncpg.Record) -> Entry:
    return Entry(
        key=row["key"],
        kind=Kind(row["kind"]),
        tenant_id=row["tenant_id"],
        ready=row["status"] == "ready",
        engine=row["engine"],
        engine_version=row["engine_version"],
        voice=row["voice"],
        language=row["language"],
        tts_text=row["tts_text"],
        duration_ms=row["duration_ms"],
        size_bytes=row["size_bytes"],
    )


def lock_args(key: str) -> tuple[int, int]:
    """The arguments of pg_advisory_xact_lock for a key."""
    return LOCK_NAMESPACE, int.from_bytes(bytes.fromhex(key[:8]), "big", signed=True)


class LockedKey:
    """A key whose render this instance holds the cluster-wide lock of, until the block ends."""

    def __init__(self, connection: Connection, key: str) -> None:
        self._connection = connection
        self.key = key

    async def entry(self) -> Entry | None:
        """The key's row as it stands now."""
        row = await self._connection.fetchrow(
            f"SELECT {_ENTRY_COLUMNS} FROM media_files WHERE key = $1", self.key
        )
        return None if row is None else _entry(row)

    async def record(
        self,
        kind: Kind,
        tenant_id: uuid.UUID | None,
        recipe: TtsRecipe | None,
        duration_ms: int,
        size_bytes: int,
    ) -> None:
        """Write the key's row: ready, just used."""
        await self._connection.execute(
            """INSERT INTO media_files (key, kind, tenant_id, status, engine, engine_version,
                                        voice, language, tts_text, duration_ms, size_bytes)
               VALUES ($1, $2, $3, 'ready', $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (key) DO UPDATE SET status = 'ready',
                   duration_ms = EXCLUDED.duration_ms, size_bytes = EXCLUDED.size_bytes,
                   last_used_at = now()""",
            self.key,
            kind.value,
            tenant_id,
            recipe.engine if recipe else None,
            recipe.engine_version if recipe else None,
            recipe.voice if recipe else None,
            recipe.language if recipe else None,
            recipe.text if recipe else None,
            duration_ms,
            size_bytes,
        )

    async def evict(self, min_idle_s: float) -> bool:
        """Mark the key evicted if it is a TTS render idle that long that no prompt plays."""
        evicted = await self._connection.fetchval(
            """UPDATE media_files m SET status = 'evicted', size_bytes = 0
                WHERE key = $1 AND kind = 'tts' AND status = 'ready'
                  AND last_used_at < now() - make_interval(secs => $2)
                  AND NOT EXISTS (SELECT 1 FROM prompts p WHERE p.content_hash = m.key)
               RETURNING true""",
            self.key,
            min_idle_s,
        )
        return bool(evicted)

    async def purge(self, unplayed_s: float, evicted_s: float) -> bool:
        """Delete the row of an upload or recording no prompt has played for `unplayed_s` (its
        prompt was deleted), or of a render evicted and unused for `evicted_s`."""
        purged = await self._connection.fetchval(
            f"DELETE FROM media_files m WHERE key = $1 AND {_purgeable(2, 3)} RETURNING true",
            self.key,
            unplayed_s,
            evicted_s,
        )
        return bool(purged)

    async def forget(self, tenant_id: uuid.UUID) -> bool:
        """Delete the key's row if it is the tenant's upload or recording and no prompt plays
        it; True if its files may go then (the row is gone, or there never was one)."""
        deleted = await self._connection.fetchval(
            """DELETE FROM media_files m
                WHERE key = $1 AND tenant_id = $2 AND kind <> 'tts'
                  AND NOT EXISTS (SELECT 1 FROM prompts p WHERE p.content_hash = m.key)
               RETURNING true""",
            self.key,
            tenant_id,
        )
        if deleted:
            return True
        described = await self._connection.fetchval(
            "SELECT true FROM media_files WHERE key = $1", self.key
        )
        return not described


class CacheIndex:
    """The metadata of entries and the prompts that play them, in Postgres."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def entry(self, key: str) -> Entry | None:
        """An entry's row."""
        row = await self._pool.fetchrow(
            f"SELECT {_ENTRY_COLUMNS} FROM media_files WHERE key = $1", key
        )
        return None if row is None else _entry(row)

    @asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[LockedKey | None]:
        """The key's lock for the length of the block, or None when another holds it.

        A transaction-scoped advisory lock: a crashed instance's lock goes with its connection.
        """
        async with self._pool.acquire() as connection, connection.transaction():
            taken = await connection.fetchval(
                "SELECT pg_try_advisory_xact_lock($1, $2)", *lock_args(key)
            )
            yield LockedKey(connection, key) if taken else None

    async def touch(self, keys: list[str]) -> None:
        """Mark entries as just used (for LRU eviction and purging)."""
        if keys:
            await self._pool.execute(
                "UPDATE media_files SET last_used_at = now() WHERE key = ANY($1::text[])", keys
            )

    async def ready_bytes(self) -> int:
        """The size of every file that should be on disk."""
        total = await self._pool.fetchval(
            "SELECT coalesce(sum(size_bytes), 0) FROM media_files WHERE status = 'ready'"
        )
        return int(total)

    async def eviction_candidates(self, min_idle_s: float, limit: int) -> list[tuple[str, int]]:
        """Ready TTS renders no prompt plays, least recently used first, with their sizes."""
        rows = await self._pool.fetch(
            """SELECT key, size_bytes FROM media_files m
                WHERE kind = 'tts' AND status = 'ready'
                  AND last_used_at < now() - make_interval(secs => $1)
                  AND NOT EXISTS (SELECT 1 FROM prompts p WHERE p.content_hash = m.key)
                ORDER BY last_used_at LIMIT $2""",
            min_idle_s,
            limit,
        )
        return [(row["key"], row["size_bytes"]) for row in rows]

    async def purge_candidates(self, unplayed_s: float, evicted_s: float, limit: int) -> list[str]:
        """Rows that can go (see `LockedKey.purge`)."""
        rows = await self._pool.fetch(
            f"SELECT key FROM media_files m WHERE {_purgeable(1, 2)} LIMIT $3",
            unplayed_s,
            evicted_s,
            limit,
        )
        return [row["key"] for row in rows]

    async def ready_among(self, keys: list[str]) -> set[str]:
        """Which of `keys` have a ready row."""
        rows = await self._pool.fetch(
            "SELECT key FROM media_files WHERE key = ANY($1::text[]) AND status = 'ready'", keys
        )
        return {row["key"] for row in rows}

    async def tenant_locale(self, tenant_id: uuid.UUID) -> str | None:
        """A tenant's locale, or None if there is no such tenant."""
        locale: str | None = await self._pool.fetchval(
            "SELECT locale FROM tenants WHERE id = $1", tenant_id
        )
        return locale

    async def prompt(self, tenant_id: uuid.UUID, prompt_id: uuid.UUID) -> StoredPrompt | None:
        """One prompt of one tenant."""
        row = await self._pool.fetchrow(
            """SELECT source, tts_text, language, voice, content_hash, status FROM prompts
                WHERE tenant_id = $1 AND id = $2""",
            tenant_id,
            prompt_id,
        )
        if row is None:
            return None
        return StoredPrompt(
            source=Kind(row["source"]),
            tts_text=row["tts_text"],
            language=row["language"],
            voice=row["voice"],
            content_hash=row["content_hash"],
            ready=row["status"] == "ready",
        )

    async def tts_prompt_rendered(
        self,
        tenant_id: uuid.UUID,
        prompt_id: uuid.UUID,
        spoken: StoredPrompt,
        *,
        key: str,
        duration_ms: int,
        size_bytes: int,
    ) -> None:
        """Record a TTS prompt's audio, unless its text changed meanwhile (then it is pending
        again for the admin's new text, which the next ensure renders)."""
        await self._pool.execute(
            """UPDATE prompts SET status = 'ready', error_code = NULL, content_hash = $3,
                                  duration_ms = $4, size_bytes = $5
                WHERE tenant_id = $1 AND id = $2 AND source = 'tts'
                  AND tts_text = $6 AND language = $7 AND voice IS NOT DISTINCT FROM $8
                  AND (status <> 'ready' OR content_hash IS DISTINCT FROM $3
                       OR duration_ms IS DISTINCT FROM $4 OR size_bytes IS DISTINCT FROM $5)""",
            tenant_id,
            prompt_id,
            key,
            duration_ms,
            size_bytes,
            spoken.tts_text,
            spoken.language,
            spoken.voice,
        )

    async def tts_prompt_failed(
        self, tenant_id: uuid.UUID, prompt_id: uuid.UUID, spoken: StoredPrompt, code: str
    ) -> None:
        """Record why a TTS prompt cannot be spoken (shown to its admin)."""
        await self._pool.execute(
            """UPDATE prompts SET status = 'failed', error_code = $3, content_hash = NULL
                WHERE tenant_id = $1 AND id = $2 AND source = 'tts'
                  AND tts_text = $4 AND language = $5 AND voice IS NOT DISTINCT FROM $6
                  AND error_code IS DISTINCT FROM $3""",
            tenant_id,
            prompt_id,
            code,
            spoken.tts_text,
            spoken.language,
            spoken.voice,
        )

    async def create_prompt(
        self,
        tenant_id: uuid.UUID,
        *,
        source: Kind,
        original_filename: str | None,
        key: str,
        duration_ms: int,
        size_bytes: int,
    ) -> uuid.UUID:
        """A new ready prompt playing an ingested entry."""
        prompt_id: uuid.UUID = await self._pool.fetchval(
            """INSERT INTO prompts (tenant_id, source, original_filename, content_hash, status,
                                    duration_ms, size_bytes)
               VALUES ($1, $2, $3, $4, 'ready', $5, $6) RETURNING id""",
            tenant_id,
            source.value,
            original_filename,
            key,
            duration_ms,
            size_bytes,
        )
        return prompt_id
