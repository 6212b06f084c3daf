"""The media service's cache: one row per rendered or ingested audio file.

A row names its content by key (a sha256: of the TTS engine, version, voice, language and
normalised text, or of an upload's or recording's bytes). Text-to-speech renders are shared
by every tenant (the same words in the same voice sound the same) and keep what is needed to
render them again; uploads and recordings belong to one tenant and are never evicted, which
a check constraint holds. `prompts.content_hash` names the row a prompt plays.
"""

from __future__ import annotations

from rcp.db.migrations import sql_steps

revision = "0002"
down_revision = "0001"

UPGRADE = r"""
CREATE TABLE media_files (
    key             text PRIMARY KEY CHECK (key ~ '^[0-9a-f]{64}$'),
    kind            text NOT NULL CHECK (kind IN ('tts', 'upload', 'recording')),
    tenant_id       uuid REFERENCES tenants (id) ON DELETE CASCADE,
    -- 'evicted': the file was removed to keep the cache under its size bound; the row stays
    -- so that a URL handed out before is rendered again instead of failing.
    status          text NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'evicted')),
    engine          text CHECK (engine ~ '^[a-z0-9_.-]{1,32}$'),
    engine_version  text CHECK (length(engine_version) BETWEEN 1 AND 64),
    voice           text CHECK (voice ~ '^[A-Za-z0-9_+.:-]{1,64}$'),
    language        rcp_locale,
    tts_text        text CHECK (length(tts_text) BETWEEN 1 AND 65536),
    duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
    size_bytes      bigint NOT NULL CHECK (size_bytes >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT media_files_owner CHECK ((kind = 'tts') = (tenant_id IS NULL)),
    CONSTRAINT media_files_tts_recipe CHECK (
        (kind = 'tts') = (engine IS NOT NULL AND engine_version IS NOT NULL
                          AND voice IS NOT NULL AND language IS NOT NULL
                          AND tts_text IS NOT NULL)
    ),
    CONSTRAINT media_files_only_tts_evicted CHECK (status = 'ready' OR kind = 'tts'),
    CONSTRAINT media_files_evicted_is_empty CHECK (status = 'ready' OR size_bytes = 0)
);
-- Eviction walks ready renders from the least recently used.
CREATE INDEX media_files_lru ON media_files (last_used_at) WHERE kind = 'tts' AND status = 'ready';
CREATE INDEX media_files_by_tenant ON media_files (tenant_id) WHERE tenant_id IS NOT NULL;
-- "Does a prompt still play this file?" is asked before evicting it.
CREATE INDEX prompts_by_content_hash ON prompts (content_hash) WHERE content_hash IS NOT NULL;
"""

DOWNGRADE = r"""
DROP INDEX prompts_by_content_hash;
DROP TABLE media_files;
"""

upgrade, downgrade = sql_steps(UPGRADE, DOWNGRADE)
