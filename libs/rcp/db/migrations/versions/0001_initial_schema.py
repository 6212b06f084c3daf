"""Initial schema: tenants and everything they own.

Every tenant-owned table carries `tenant_id`, and every reference between tenant-owned rows
is a composite foreign key that includes it, so the database itself refuses a row of one
tenant pointing at another tenant's row. Check constraints refuse invalid values.

Extensions, ring groups and conference rooms share one numbering plan per tenant: triggers
keep `numbering_plan` in step with them, and its primary key refuses a second owner of a
number.
"""

from __future__ import annotations

from rcp.db.migrations import sql_steps, touch_updated_at

revision = "0001"
down_revision = None

UPGRADE = r"""
CREATE FUNCTION rcp_is_timezone(name text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM now() AT TIME ZONE name;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END $$;

CREATE FUNCTION rcp_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE DOMAIN rcp_e164 AS text
    CHECK (VALUE ~ '^\+[1-9][0-9]{6,14}$');
CREATE DOMAIN rcp_local_number AS text
    CHECK (VALUE ~ '^[0-9]{2,10}$');
CREATE DOMAIN rcp_locale AS text
    CHECK (VALUE ~ '^[a-z]{2,3}-[A-Z]{2}$');
CREATE DOMAIN rcp_name AS text
    CHECK (length(VALUE) <= 200 AND VALUE = btrim(VALUE) AND VALUE !~ '[[:cntrl:]]');

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    name        rcp_name NOT NULL CHECK (name <> ''),
    locale      rcp_locale NOT NULL DEFAULT 'fr-FR',
    timezone    text NOT NULL DEFAULT 'Europe/Paris' CHECK (rcp_is_timezone(timezone)),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE phone_numbers (
    e164        rcp_e164 PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX phone_numbers_tenant ON phone_numbers (tenant_id);

CREATE TABLE prompts (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source            text NOT NULL CHECK (source IN ('tts', 'upload', 'recording')),
    tts_text          text CHECK (length(tts_text) BETWEEN 1 AND 5000),
    language          rcp_locale,
    voice             text CHECK (voice ~ '^[A-Za-z0-9_+.:-]{1,64}$'),
    original_filename text CHECK (length(original_filename) BETWEEN 1 AND 255),
    content_hash      text CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'ready', 'failed')),
    error_code        text,
    duration_ms       integer CHECK (duration_ms >= 0),
    size_bytes        bigint CHECK (size_bytes >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (id),
    CONSTRAINT prompts_tts_has_text CHECK (
        (source = 'tts') = (tts_text IS NOT NULL AND language IS NOT NULL)
    ),
    CONSTRAINT prompts_ready_has_hash CHECK (status <> 'ready' OR content_hash IS NOT NULL),
    CONSTRAINT prompts_failed_has_code CHECK ((status = 'failed') = (error_code IS NOT NULL))
);

CREATE TABLE numbering_plan (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number      rcp_local_number NOT NULL,
    owner_kind  text NOT NULL CHECK (owner_kind IN ('extension', 'ring_group', 'conference_room')),
    owner_id    uuid NOT NULL,
    PRIMARY KEY (tenant_id, number),
    UNIQUE (owner_id)
);

CREATE FUNCTION rcp_claim_number() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    holder text;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.number IS NOT DISTINCT FROM OLD.number THEN
        RETURN NEW;
    END IF;
    SELECT owner_kind INTO holder FROM numbering_plan
     WHERE tenant_id = NEW.tenant_id AND number = NEW.number AND owner_id <> NEW.id;
    IF FOUND THEN
        -- An INSERT that collides with a row of its own table is left to that table's
        -- unique constraint, so that INSERT ... ON CONFLICT works as written.
        IF TG_OP = 'INSERT' AND holder = TG_ARGV[0] THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'number % is already used by % of this tenant', NEW.number,
            CASE holder WHEN 'extension' THEN 'an extension'
                        WHEN 'ring_group' THEN 'a ring group'
                        ELSE 'a conference room' END
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'numbering_plan_pkey';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        UPDATE numbering_plan SET number = NEW.number WHERE owner_id = NEW.id;
    ELSE
        INSERT INTO numbering_plan (tenant_id, number, owner_kind, owner_id)
        VALUES (NEW.tenant_id, NEW.number, TG_ARGV[0], NEW.id);
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION rcp_release_number() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM numbering_plan WHERE owner_id = OLD.id;
    RETURN OLD;
END $$;

CREATE TABLE extensions (
    id                      uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id               uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number                  rcp_local_number NOT NULL,
    kind                    text NOT NULL CHECK (kind IN ('physical', 'virtual')),
    first_name              rcp_name NOT NULL DEFAULT '',
    last_name               rcp_name NOT NULL DEFAULT '',
    dial_string             text CHECK (dial_string ~ '^[A-Za-z][A-Za-z0-9_]*/[^\s,&|]{1,200}$'),
    external_number         rcp_e164,
    voicemail_enabled       boolean NOT NULL DEFAULT true,
    reachable_by_extension  boolean NOT NULL DEFAULT true,
    reachable_by_name       boolean NOT NULL DEFAULT true,
    name_prompt_id          uuid,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    UNIQUE (tenant_id, id, kind),
    CONSTRAINT extensions_has_a_name CHECK (first_name <> '' OR last_name <> ''),
    CONSTRAINT extensions_kind_target CHECK (
        (kind = 'physical' AND dial_string IS NOT NULL AND external_number IS NULL)
        OR (kind = 'virtual' AND external_number IS NOT NULL AND dial_string IS NULL)
    ),
    FOREIGN KEY (tenant_id, name_prompt_id) REFERENCES prompts (tenant_id, id)
        ON DELETE SET NULL (name_prompt_id)
);

CREATE TABLE ring_groups (
    id                      uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id               uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number                  rcp_local_number NOT NULL,
    name                    rcp_name NOT NULL CHECK (name <> ''),
    strategy                text NOT NULL DEFAULT 'simultaneous'
                            CHECK (strategy IN ('simultaneous', 'sequential')),
    ring_seconds            integer NOT NULL DEFAULT 20 CHECK (ring_seconds BETWEEN 5 AND 300),
    no_answer_action        text NOT NULL DEFAULT 'menu'
                            CHECK (no_answer_action IN ('menu', 'hangup', 'voicemail', 'extension')),
    no_answer_extension_id  uuid,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    CONSTRAINT ring_groups_no_answer_target CHECK (
        (no_answer_action IN ('voicemail', 'extension')) = (no_answer_extension_id IS NOT NULL)
    ),
    FOREIGN KEY (tenant_id, no_answer_extension_id) REFERENCES extensions (tenant_id, id)
);

CREATE TABLE ring_group_members (
    tenant_id      uuid NOT NULL,
    ring_group_id  uuid NOT NULL,
    extension_id   uuid NOT NULL,
    position       smallint NOT NULL CHECK (position BETWEEN 0 AND 99),
    PRIMARY KEY (tenant_id, ring_group_id, extension_id),
    UNIQUE (tenant_id, ring_group_id, position) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (tenant_id, ring_group_id) REFERENCES ring_groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, extension_id) REFERENCES extensions (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE conference_rooms (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number      rcp_local_number NOT NULL,
    name        rcp_name NOT NULL CHECK (name <> ''),
    pin         text CHECK (pin ~ '^[0-9]{3,12}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number)
);

CREATE TRIGGER extensions_claim_number BEFORE INSERT OR UPDATE OF number ON extensions
    FOR EACH ROW EXECUTE FUNCTION rcp_claim_number('extension');
CREATE TRIGGER extensions_release_number AFTER DELETE ON extensions
    FOR EACH ROW EXECUTE FUNCTION rcp_release_number();
CREATE TRIGGER ring_groups_claim_number BEFORE INSERT OR UPDATE OF number ON ring_groups
    FOR EACH ROW EXECUTE FUNCTION rcp_claim_number('ring_group');
CREATE TRIGGER ring_groups_release_number AFTER DELETE ON ring_groups
    FOR EACH ROW EXECUTE FUNCTION rcp_release_number();
CREATE TRIGGER conference_rooms_claim_number BEFORE INSERT OR UPDATE OF number ON conference_rooms
    FOR EACH ROW EXECUTE FUNCTION rcp_claim_number('conference_room');
CREATE TRIGGER conference_rooms_release_number AFTER DELETE ON conference_rooms
    FOR EACH ROW EXECUTE FUNCTION rcp_release_number();

CREATE TABLE receptionists (
    tenant_id                 uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    greeting_prompt_id        uuid,
    language                  rcp_locale NOT NULL DEFAULT 'fr-FR',
    dial_extension_enabled    boolean NOT NULL DEFAULT false,
    menu_timeout_s            integer NOT NULL DEFAULT 5 CHECK (menu_timeout_s BETWEEN 1 AND 60),
    inter_digit_timeout_s     integer NOT NULL DEFAULT 3 CHECK (inter_digit_timeout_s BETWEEN 1 AND 20),
    menu_max_retries          integer NOT NULL DEFAULT 3 CHECK (menu_max_retries BETWEEN 1 AND 10),
    name_max_retries          integer NOT NULL DEFAULT 3 CHECK (name_max_retries BETWEEN 1 AND 10),
    transfer_ring_s           integer NOT NULL DEFAULT 20 CHECK (transfer_ring_s BETWEEN 5 AND 300),
    exhausted_extension_id    uuid,
    updated_at                timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, greeting_prompt_id) REFERENCES prompts (tenant_id, id)
        ON DELETE SET NULL (greeting_prompt_id),
    FOREIGN KEY (tenant_id, exhausted_extension_id) REFERENCES extensions (tenant_id, id)
);

CREATE TABLE key_assignments (
    tenant_id            uuid NOT NULL REFERENCES receptionists (tenant_id) ON DELETE CASCADE,
    digit                text NOT NULL CHECK (digit ~ '^[0-9]$'),
    action               text NOT NULL
                         CHECK (action IN ('dial_by_name', 'play_announcement', 'transfer')),
    prompt_id            uuid,
    target_kind          text CHECK (target_kind IN
                         ('extension', 'virtual_extension', 'ring_group', 'conference', 'voicemail')),
    target_extension_id  uuid,
    target_ring_group_id uuid,
    target_conference_id uuid,
    -- The kind an extension target must have; NULL for voicemail, which takes either kind.
    target_extension_kind text GENERATED ALWAYS AS (
        CASE target_kind WHEN 'extension' THEN 'physical'
                         WHEN 'virtual_extension' THEN 'virtual' END
    ) STORED,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, digit),
    CONSTRAINT key_assignments_announcement_has_prompt CHECK (
        (action = 'play_announcement') = (prompt_id IS NOT NULL)
    ),
    CONSTRAINT key_assignments_transfer_has_target CHECK (
        (action = 'transfer') = (target_kind IS NOT NULL)
    ),
    CONSTRAINT key_assignments_one_target CHECK (
        (target_extension_id IS NOT NULL)
            = (target_kind IN ('extension', 'virtual_extension', 'voicemail'))
        AND (target_ring_group_id IS NOT NULL) = (target_kind = 'ring_group')
        AND (target_conference_id IS NOT NULL) = (target_kind = 'conference')
        AND (target_kind IS NOT NULL OR (target_extension_id IS NULL
             AND target_ring_group_id IS NULL AND target_conference_id IS NULL))
    ),
    FOREIGN KEY (tenant_id, prompt_id) REFERENCES prompts (tenant_id, id),
    FOREIGN KEY (tenant_id, target_extension_id) REFERENCES extensions (tenant_id, id),
    FOREIGN KEY (tenant_id, target_extension_id, target_extension_kind)
        REFERENCES extensions (tenant_id, id, kind),
    FOREIGN KEY (tenant_id, target_ring_group_id) REFERENCES ring_groups (tenant_id, id),
    FOREIGN KEY (tenant_id, target_conference_id) REFERENCES conference_rooms (tenant_id, id)
);

CREATE TABLE voicemail_messages (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    extension_id      uuid,
    -- Kept as written when the message was left, so it outlives a renumbered or deleted extension.
    extension_number  rcp_local_number NOT NULL,
    caller_number     text CHECK (length(caller_number) <= 64),
    caller_name       text CHECK (length(caller_name) <= 200),
    prompt_id         uuid NOT NULL,
    duration_ms       integer NOT NULL CHECK (duration_ms >= 0),
    status            text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'read')),
    call_id           text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, extension_id) REFERENCES extensions (tenant_id, id)
        ON DELETE SET NULL (extension_id),
    FOREIGN KEY (tenant_id, prompt_id) REFERENCES prompts (tenant_id, id)
);
CREATE INDEX voicemail_messages_by_extension ON voicemail_messages (tenant_id, extension_id, created_at DESC);

CREATE TABLE call_records (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id         text NOT NULL CHECK (length(call_id) BETWEEN 1 AND 128),
    called_number   rcp_e164 NOT NULL,
    caller_number   text CHECK (length(caller_number) <= 64),
    started_at      timestamptz NOT NULL,
    answered_at     timestamptz,
    ended_at        timestamptz,
    outcome         text CHECK (outcome IN (
                        'transferred', 'voicemail', 'conference', 'announcement',
                        'caller_hangup', 'no_input', 'invalid_input', 'failed')),
    trace           jsonb NOT NULL DEFAULT '[]'::jsonb,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, call_id),
    CONSTRAINT call_records_times CHECK (
        (answered_at IS NULL OR answered_at >= started_at)
        AND (ended_at IS NULL OR ended_at >= started_at)
        AND ((ended_at IS NULL) = (outcome IS NULL))
    )
);
CREATE INDEX call_records_by_time ON call_records (tenant_id, started_at DESC);

CREATE TABLE admin_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    scope         text NOT NULL CHECK (scope IN ('carrier', 'tenant')),
    tenant_id     uuid REFERENCES tenants (id) ON DELETE CASCADE,
    name          rcp_name NOT NULL CHECK (name <> ''),
    -- Only a keyed hash of the token is stored; the token itself is shown once.
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    token_prefix  text NOT NULL CHECK (token_prefix ~ '^[A-Za-z0-9_-]{4,16}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CONSTRAINT admin_tokens_scope_tenant CHECK ((scope = 'tenant') = (tenant_id IS NOT NULL))
);

-- The audit log outlives what it describes: no foreign keys, nothing cascades into it.
CREATE TABLE audit_log (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    tenant_id      uuid,
    actor_token_id uuid,
    actor          text NOT NULL CHECK (actor <> ''),
    action         text NOT NULL CHECK (action ~ '^[a-z_.]{1,64}$'),
    entity         text NOT NULL CHECK (entity ~ '^[a-z_]{1,64}$'),
    entity_key     text,
    before         jsonb,
    after          jsonb,
    request_id     text
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, at DESC);

""" + touch_updated_at(
    "tenants",
    "prompts",
    "extensions",
    "ring_groups",
    "conference_rooms",
    "receptionists",
    "key_assignments",
)

DOWNGRADE = r"""
DROP TABLE audit_log;
DROP TABLE admin_tokens;
DROP TABLE call_records;
DROP TABLE voicemail_messages;
DROP TABLE key_assignments;
DROP TABLE receptionists;
DROP TABLE conference_rooms;
DROP TABLE ring_group_members;
DROP TABLE ring_groups;
DROP TABLE extensions;
DROP TABLE numbering_plan;
DROP TABLE prompts;
DROP TABLE phone_numbers;
DROP TABLE tenants;
DROP FUNCTION rcp_release_number();
DROP FUNCTION rcp_claim_number();
DROP DOMAIN rcp_name;
DROP DOMAIN rcp_locale;
DROP DOMAIN rcp_local_number;
DROP DOMAIN rcp_e164;
DROP FUNCTION rcp_touch_updated_at();
DROP FUNCTION rcp_is_timezone(text);
"""

upgrade, downgrade = sql_steps(UPGRADE, DOWNGRADE)
