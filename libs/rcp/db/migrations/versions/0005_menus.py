"""Menus: a tenant's receptionist is a set of menus, and a key may open another one (issue 15).

`menus` holds each menu: a name unique in the tenant and, for every menu but the first, its own
language, greeting, dial-extension toggle and time-outs, each NULL to inherit the receptionist's.
The first menu (`is_first`, one per tenant) is the receptionist itself: its settings stay in
`receptionists`, where the `/receptionist` endpoints always kept them, so it has none of its own.
A trigger gives every receptionist its first menu, whichever code creates the row.

`key_assignments` gains `menu_id` (every existing key belongs to its tenant's first menu, which
the upgrade creates, so a configuration saved before comes through unchanged; an insert that
names no menu still lands on the first one) and a fourth action, `open_menu`, whose target is
`target_menu_id`, one of the tenant's own menus. A menu a key opens cannot be deleted.
"""

from __future__ import annotations

from rcp.db.migrations import execute_script, touch_updated_at

revision = "0005"
down_revision = "0004"

UPGRADE = r"""
CREATE TABLE menus (
    tenant_id              uuid NOT NULL REFERENCES receptionists (tenant_id) ON DELETE CASCADE,
    id                     uuid NOT NULL DEFAULT gen_random_uuid(),
    name                   rcp_name NOT NULL CHECK (name <> ''),
    is_first               boolean NOT NULL DEFAULT false,
    language               rcp_locale,
    greeting_prompt_id     uuid,
    dial_extension_enabled boolean,
    menu_timeout_s         integer CHECK (menu_timeout_s BETWEEN 1 AND 60),
    inter_digit_timeout_s  integer CHECK (inter_digit_timeout_s BETWEEN 1 AND 20),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    -- The first menu's settings are the receptionist's own (its row in receptionists).
    CONSTRAINT menus_first_has_no_settings CHECK (NOT is_first OR (
        language IS NULL AND greeting_prompt_id IS NULL AND dial_extension_enabled IS NULL
        AND menu_timeout_s IS NULL AND inter_digit_timeout_s IS NULL)),
    FOREIGN KEY (tenant_id, greeting_prompt_id) REFERENCES prompts (tenant_id, id)
        ON DELETE SET NULL (greeting_prompt_id)
);
CREATE UNIQUE INDEX menus_one_first ON menus (tenant_id) WHERE is_first;

-- Every receptionist has its first menu, named in its language.
CREATE FUNCTION rcp_first_menu() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO menus (tenant_id, name, is_first)
    VALUES (NEW.tenant_id,
            CASE WHEN NEW.language LIKE 'fr-%' THEN 'Menu principal' ELSE 'Main menu' END,
            true);
    RETURN NEW;
END $$;
CREATE TRIGGER receptionists_first_menu AFTER INSERT ON receptionists
    FOR EACH ROW EXECUTE FUNCTION rcp_first_menu();
INSERT INTO menus (tenant_id, name, is_first)
SELECT tenant_id, CASE WHEN language LIKE 'fr-%' THEN 'Menu principal' ELSE 'Main menu' END, true
  FROM receptionists;

ALTER TABLE key_assignments ADD COLUMN menu_id uuid, ADD COLUMN target_menu_id uuid;
UPDATE key_assignments k SET menu_id = m.id
  FROM menus m WHERE m.tenant_id = k.tenant_id AND m.is_first;
ALTER TABLE key_assignments ALTER COLUMN menu_id SET NOT NULL;

-- A key inserted without its menu is one of the first menu's (as every key was before).
CREATE FUNCTION rcp_key_menu() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.menu_id IS NULL THEN
        SELECT id INTO NEW.menu_id FROM menus WHERE tenant_id = NEW.tenant_id AND is_first;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER key_assignments_menu BEFORE INSERT ON key_assignments
    FOR EACH ROW EXECUTE FUNCTION rcp_key_menu();

ALTER TABLE key_assignments
    DROP CONSTRAINT key_assignments_pkey,
    ADD PRIMARY KEY (tenant_id, menu_id, digit),
    ADD FOREIGN KEY (tenant_id, menu_id) REFERENCES menus (tenant_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT key_assignments_target_menu FOREIGN KEY (tenant_id, target_menu_id)
        REFERENCES menus (tenant_id, id),
    DROP CONSTRAINT key_assignments_action_check,
    ADD CONSTRAINT key_assignments_action_check
        CHECK (action IN ('dial_by_name', 'play_announcement', 'transfer', 'open_menu')),
    ADD CONSTRAINT key_assignments_open_menu_has_menu CHECK (
        (action = 'open_menu') = (target_menu_id IS NOT NULL));
CREATE INDEX key_assignments_target_menu_idx ON key_assignments (tenant_id, target_menu_id)
    WHERE target_menu_id IS NOT NULL;
"""

DOWNGRADE = r"""
DELETE FROM key_assignments k USING menus m
 WHERE m.tenant_id = k.tenant_id AND m.id = k.menu_id AND NOT m.is_first;
DELETE FROM key_assignments WHERE action = 'open_menu';
DROP TRIGGER key_assignments_menu ON key_assignments;
DROP FUNCTION rcp_key_menu();
ALTER TABLE key_assignments
    DROP CONSTRAINT key_assignments_open_menu_has_menu,
    DROP CONSTRAINT key_assignments_action_check,
    ADD CONSTRAINT key_assignments_action_check
        CHECK (action IN ('dial_by_name', 'play_announcement', 'transfer')),
    DROP CONSTRAINT key_assignments_pkey,
    ADD PRIMARY KEY (tenant_id, digit),
    DROP COLUMN target_menu_id,
    DROP COLUMN menu_id;
DROP TRIGGER receptionists_first_menu ON receptionists;
DROP FUNCTION rcp_first_menu();
DROP TABLE menus;
"""


def upgrade() -> None:
    execute_script(UPGRADE + touch_updated_at("menus"))


def downgrade() -> None:
    execute_script(DOWNGRADE)
