"""Alembic owns the schema: upgrade and downgrade both work, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
from rcp.db.migrate import at_head, downgrade, upgrade, wait_for_head

OUR_TABLES = {
    "tenants",
    "phone_numbers",
    "prompts",
    "numbering_plan",
    "extensions",
    "ring_groups",
    "ring_group_members",
    "conference_rooms",
    "receptionists",
    "key_assignments",
    "voicemail_messages",
    "call_records",
    "admin_tokens",
    "audit_log",
    "media_files",
    "outbound_policies",
    "tenant_limits",
    "devices",
    "menus",
    "retention_settings",
    "schedules",
    "holidays",
    "receptionist_versions",
    "users",
    "user_sessions",
    "user_links",
    "call_counts",
    "config_versions",
}
HEAD = ["0013"]


async def _schema(url: str) -> tuple[set[str], set[str], list[str]]:
    connection = await asyncpg.connect(url)
    try:
        tables = {
            r["tablename"]
            for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        functions = {
            r["proname"]
            for r in await connection.fetch(
                "SELECT proname FROM pg_proc WHERE proname LIKE 'rcp\\_%'"
            )
        }
        versions = (
            [
                r["version_num"]
                for r in await connection.fetch("SELECT version_num FROM alembic_version")
            ]
            if "alembic_version" in tables
            else []
        )
    finally:
        await connection.close()
    return tables, functions, versions


def test_upgrade_downgrade_upgrade_round_trip(make_database: Callable[[], str]) -> None:
    url = make_database()

    upgrade(url, configure_logging=False)
    tables, functions, versions = asyncio.run(_schema(url))
    assert tables >= OUR_TABLES
    assert {
        "rcp_claim_number",
        "rcp_release_number",
        "rcp_is_timezone",
        "rcp_all_match",
    } <= functions
    assert versions == HEAD

    downgrade(url, "base", configure_logging=False)
    tables, functions, versions = asyncio.run(_schema(url))
    assert tables == {"alembic_version"}
    assert functions == set()
    assert versions == []

    upgrade(url, configure_logging=False)
    tables, _, versions = asyncio.run(_schema(url))
    assert tables >= OUR_TABLES
    assert versions == HEAD


def test_media_revision_downgrades_to_the_initial_schema(make_database: Callable[[], str]) -> None:
    url = make_database()
    upgrade(url, configure_logging=False)

    downgrade(url, "0001", configure_logging=False)
    tables, _, versions = asyncio.run(_schema(url))
    assert tables >= OUR_TABLES - {
        "media_files",
        "outbound_policies",
        "tenant_limits",
        "devices",
        "menus",
        "retention_settings",
        "schedules",
        "holidays",
        "receptionist_versions",
        "users",
        "user_sessions",
        "user_links",
        "call_counts",
        "config_versions",
    }
    assert "media_files" not in tables
    assert versions == ["0001"]

    upgrade(url, configure_logging=False)
    tables, _, versions = asyncio.run(_schema(url))
    assert "media_files" in tables
    assert versions == HEAD


def test_outbound_revision_downgrades_to_the_media_schema(make_database: Callable[[], str]) -> None:
    url = make_database()
    upgrade(url, configure_logging=False)

    downgrade(url, "0002", configure_logging=False)
    tables, functions, versions = asyncio.run(_schema(url))
    assert tables >= OUR_TABLES - {
        "outbound_policies",
        "tenant_limits",
        "devices",
        "menus",
        "retention_settings",
        "schedules",
        "holidays",
        "receptionist_versions",
        "users",
        "user_sessions",
        "user_links",
        "call_counts",
        "config_versions",
    }
    assert not tables & {"outbound_policies", "tenant_limits"}
    assert "rcp_all_match" not in functions
    assert versions == ["0002"]


def test_upgrade_twice_changes_nothing(make_database: Callable[[], str]) -> None:
    url = make_database()
    upgrade(url, configure_logging=False)
    first = asyncio.run(_schema(url))
    upgrade(url, configure_logging=False)
    assert asyncio.run(_schema(url)) == first


def test_at_head_tells_services_when_the_schema_is_ready(make_database: Callable[[], str]) -> None:
    url = make_database()
    assert at_head(url) is False
    assert wait_for_head(url, timeout_s=0.2, poll_s=0.1) is False
    upgrade(url, configure_logging=False)
    assert at_head(url) is True
    assert wait_for_head(url, timeout_s=0) is True
