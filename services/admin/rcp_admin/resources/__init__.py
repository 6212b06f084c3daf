"""The admin API, one module per resource; the route table is the sum of theirs.

Each module holds one noun: its logic (functions taking the `Store`, the acting `Principal`
and the tenant), its HTTP handlers (functions taking a `Call`), and its `ROUTES`. Every write
goes through `Store.write` (`rcp_admin.unit_of_work`): one transaction with its audit entry,
then config-changed once committed.

To add a resource (docs/admin-resources.md has a worked example):

1. Its wire models in `rcp_admin.schemas`; its table in a new migration.
2. A module here with its logic, handlers and `ROUTES`. A thing known by a number in the
   tenant's plan is a `numbered.NumberedEntity` (as extensions, ring groups and rooms are).
3. Its `ROUTES` added below, where the API documents it; if services cache it, its entity
   name in `rcp.contracts.ConfigChanged`.
4. Rewrite the committed OpenAPI document (`.venv/bin/python tests/test_admin_openapi.py`)
   and review its diff: that is the change of the public API.
"""

from __future__ import annotations

from rcp_admin.resources import (
    audit,
    calls,
    conference_rooms,
    dashboard,
    devices,
    directory,
    export,
    extensions,
    limits,
    menus,
    numbers,
    outbound_policy,
    prompts,
    receptionist,
    retention,
    ring_groups,
    schedule,
    sessions,
    simulate,
    tenants,
    tokens,
    usage,
    users,
    versions,
    voicemail,
)
from rcp_admin.routing import Route

ROUTES: list[Route] = [
    *tenants.ROUTES,
    *tokens.ROUTES,
    *sessions.ROUTES,
    *users.ROUTES,
    *numbers.ROUTES,
    *numbers.CARRIER_ROUTES,
    *devices.ROUTES,
    *outbound_policy.ROUTES,
    *limits.ROUTES,
    *extensions.ROUTES,
    *ring_groups.ROUTES,
    *conference_rooms.ROUTES,
    *receptionist.ROUTES,
    *menus.ROUTES,
    *schedule.ROUTES,
    *versions.ROUTES,
    *directory.ROUTES,
    *prompts.ROUTES,
    *voicemail.ROUTES,
    *calls.ROUTES,
    *dashboard.ROUTES,
    *retention.ROUTES,
    *audit.ROUTES,
    *audit.CARRIER_ROUTES,
    *usage.ROUTES,
    *export.ROUTES,
    *simulate.ROUTES,
]
