"""A tenant's receptionists row, read the same way by the admin API and the call flow."""

from __future__ import annotations

from typing import Any

import asyncpg

# The row, with its last-retry target resolved to the extension's number.
SELECT = """
    SELECT r.greeting_prompt_id, r.language, r.dial_extension_enabled, r.menu_timeout_s,
           r.inter_digit_timeout_s, r.menu_max_retries, r.name_max_retries, r.transfer_ring_s,
           e.number AS exhausted_number
      FROM receptionists r
      LEFT JOIN extensions e ON e.tenant_id = r.tenant_id AND e.id = r.exhausted_extension_id
     WHERE r.tenant_id = $1"""

SETTINGS = (
    "language",
    "dial_extension_enabled",
    "menu_timeout_s",
    "inter_digit_timeout_s",
    "menu_max_retries",
    "name_max_retries",
    "transfer_ring_s",
)


def settings_of(row: asyncpg.Record) -> dict[str, Any]:
    """The settings a row read with `SELECT` holds, by name (the greeting apart)."""
    return {name: row[name] for name in SETTINGS} | {"exhausted_extension": row["exhausted_number"]}
