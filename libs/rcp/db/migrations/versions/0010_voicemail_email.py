"""Voicemail that reaches people (issue 16): an extension's email address and greeting of its
own; each message's email, sent by the media service from the row itself (an outbox).

`extensions.voicemail_email` (optional) is where the extension's new messages are emailed;
`extensions.voicemail_greeting_prompt_id` (optional) is what callers hear before the beep
instead of the standard "you have reached the voicemail of ...". A prompt an extension greets
with cannot be deleted.

`voicemail_messages.email_status` is the message's email: `pending` (the default of every new
row: the row is the outbox, so a message is stored before its email exists, and a crash or an
SMTP outage delays the email but never drops it), `sent` (`emailed_at`, `email_to`), `none`
(nothing to send: no address; every message of before this revision) or `failed` (given up:
`email_error`). `email_next_at` is when a sender may next take it (a retry's time, or the end
of a sender's claim), `email_attempts` how many times it was tried.

Grants (revision 0008's rules): the media service, which owns the audio it attaches, reads
what an email says of a message, of its extension and of its tenant, and writes only the
email columns. An address is personal data the stasis service never needs: its grant on
`extensions` becomes one on every other column.
"""

from __future__ import annotations

from rcp.db.migrations import sql_steps

revision = "0010"
down_revision = "0009"

ADDRESS = r"""'^[^@\s<>()\[\],;:"]+@[^@\s<>()\[\],;:"]+\.[^@\s<>()\[\],;:".]+$'"""

UPGRADE = rf"""
ALTER TABLE extensions
    ADD COLUMN voicemail_email text
        CHECK (length(voicemail_email) <= 254 AND voicemail_email ~ {ADDRESS}),
    ADD COLUMN voicemail_greeting_prompt_id uuid,
    ADD CONSTRAINT extensions_voicemail_greeting
        FOREIGN KEY (tenant_id, voicemail_greeting_prompt_id) REFERENCES prompts (tenant_id, id);

ALTER TABLE voicemail_messages
    ADD COLUMN email_status text NOT NULL DEFAULT 'none'
        CHECK (email_status IN ('pending', 'sent', 'none', 'failed')),
    ADD COLUMN email_attempts integer NOT NULL DEFAULT 0 CHECK (email_attempts >= 0),
    ADD COLUMN email_next_at timestamptz,
    ADD COLUMN emailed_at timestamptz,
    ADD COLUMN email_to text CHECK (length(email_to) <= 254),
    ADD COLUMN email_error text CHECK (length(email_error) <= 600);
-- Messages of before were never meant to be emailed; every new one is, once stored.
ALTER TABLE voicemail_messages ALTER COLUMN email_status SET DEFAULT 'pending';
ALTER TABLE voicemail_messages ALTER COLUMN email_next_at SET DEFAULT now();
CREATE INDEX voicemail_messages_email_due ON voicemail_messages (email_next_at)
    WHERE email_status = 'pending';
-- The web manager's count of new messages.
CREATE INDEX voicemail_messages_new ON voicemail_messages (tenant_id) WHERE status = 'new';

GRANT SELECT (id, tenant_id, extension_id, extension_number, caller_number, caller_name,
              prompt_id, duration_ms, call_id, created_at, email_status, email_attempts,
              email_next_at)
    ON voicemail_messages TO rcp_media;
GRANT UPDATE (email_status, email_attempts, email_next_at, emailed_at, email_to, email_error)
    ON voicemail_messages TO rcp_media;
GRANT SELECT (tenant_id, id, number, first_name, last_name, voicemail_email)
    ON extensions TO rcp_media;
GRANT SELECT (name, timezone) ON tenants TO rcp_media;
CREATE POLICY voicemail_messages_media_select ON voicemail_messages FOR SELECT TO rcp_media
    USING (true);
CREATE POLICY voicemail_messages_media_update ON voicemail_messages FOR UPDATE TO rcp_media
    USING (true) WITH CHECK (true);
CREATE POLICY extensions_media_select ON extensions FOR SELECT TO rcp_media USING (true);

DO $$
DECLARE
    readable text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO readable
      FROM pg_attribute
     WHERE attrelid = 'extensions'::regclass AND attnum > 0 AND NOT attisdropped
       AND attname <> 'voicemail_email';
    REVOKE SELECT ON extensions FROM rcp_stasis;
    EXECUTE format('GRANT SELECT (%s) ON extensions TO rcp_stasis', readable);
END $$;
"""

DOWNGRADE = r"""
REVOKE SELECT ON extensions FROM rcp_stasis;
GRANT SELECT ON extensions TO rcp_stasis;
DROP POLICY extensions_media_select ON extensions;
DROP POLICY voicemail_messages_media_update ON voicemail_messages;
DROP POLICY voicemail_messages_media_select ON voicemail_messages;
REVOKE SELECT (name, timezone) ON tenants FROM rcp_media;
REVOKE ALL ON extensions FROM rcp_media;
REVOKE ALL ON voicemail_messages FROM rcp_media;
DROP INDEX voicemail_messages_new;
DROP INDEX voicemail_messages_email_due;
ALTER TABLE voicemail_messages
    DROP COLUMN email_error,
    DROP COLUMN email_to,
    DROP COLUMN emailed_at,
    DROP COLUMN email_next_at,
    DROP COLUMN email_attempts,
    DROP COLUMN email_status;
ALTER TABLE extensions
    DROP CONSTRAINT extensions_voicemail_greeting,
    DROP COLUMN voicemail_greeting_prompt_id,
    DROP COLUMN voicemail_email;
"""

upgrade, downgrade = sql_steps(UPGRADE, DOWNGRADE)
