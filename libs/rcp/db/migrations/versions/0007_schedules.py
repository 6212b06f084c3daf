"""Opening hours, holidays and the manual override (issue 15).

`schedules` holds a tenant's weekly hours (`weekly`: `{"mon": [{"start": "09:00", "end":
"12:30"}, ...], ...}`, wall-clock times in the tenant's time zone), its manual override (open or
closed, until an instant or until switched back), and the menu that answers when closed, on a
holiday and when closed by the override (NULL: the closed menu, then the first menu). No row:
open around the clock, as every tenant was before. `holidays` holds named dates and date ranges,
one-off or every year, written by hand, added from a country's public holidays, or imported
from an iCalendar file (`source`). A menu the schedule names cannot be deleted.
"""

from __future__ import annotations

from rcp.db.migrations import execute_script, touch_updated_at

revision = "0007"
down_revision = "0006"

UPGRADE = r"""
CREATE TABLE schedules (
    tenant_id          uuid PRIMARY KEY REFERENCES receptionists (tenant_id) ON DELETE CASCADE,
    weekly             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(weekly) = 'object'),
    closed_menu_id     uuid,
    holiday_menu_id    uuid,
    override_menu_id   uuid,
    override_mode      text CHECK (override_mode IN ('open', 'closed')),
    override_until     timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedules_until_needs_override CHECK (override_mode IS NOT NULL OR override_until IS NULL),
    FOREIGN KEY (tenant_id, closed_menu_id) REFERENCES menus (tenant_id, id),
    FOREIGN KEY (tenant_id, holiday_menu_id) REFERENCES menus (tenant_id, id),
    FOREIGN KEY (tenant_id, override_menu_id) REFERENCES menus (tenant_id, id)
);

CREATE TABLE holidays (
    tenant_id   uuid NOT NULL REFERENCES receptionists (tenant_id) ON DELETE CASCADE,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    name        rcp_name NOT NULL CHECK (name <> ''),
    start_date  date NOT NULL,
    end_date    date NOT NULL,
    yearly      boolean NOT NULL DEFAULT false,
    source      text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'public', 'ical')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, start_date, end_date, name),
    CONSTRAINT holidays_dates CHECK (end_date >= start_date AND end_date - start_date < 366)
);
"""

DOWNGRADE = r"""
DROP TABLE holidays;
DROP TABLE schedules;
"""


def upgrade() -> None:
    execute_script(UPGRADE + touch_updated_at("schedules"))


def downgrade() -> None:
    execute_script(DOWNGRADE)
