"""The local stack's own logic: Asterisk configuration, the Debian mirror, the demo tenant."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from rcp.db.pool import create_pool
from rcp_devstack import asterisk as asterisk_stack
from rcp_devstack.demo import DEMO_NUMBER, seed_demo
from rcp_devstack.services import stop_timeout_s
from rcp_devstack.settings import StackSettings


def test_config_templates_fill_placeholders_and_keep_asterisk_variables(tmp_path: Path) -> None:
    settings = StackSettings(
        asterisk_root=tmp_path, ari_password="s3cret-password", ari_app="rcp-x"
    )
    (tmp_path / "etc" / "asterisk").mkdir(parents=True)
    written = asterisk_stack.render_config(settings)
    assert {"ari.conf", "extensions.conf", "http.conf", "pjsip.conf"} <= set(written)
    etc = tmp_path / "etc" / "asterisk"
    for name in written:
        assert "@{" not in (etc / name).read_text(), name
    extensions = (etc / "extensions.conf").read_text()
    assert "same => n,Stasis(rcp-x,+${EXTEN})" in extensions
    # The local stack adds its tests' and benchmarks' contexts to the production dialplan.
    for context in ("[from-carrier]", "[test-phones]", "[test-carrier]", "[test-apps]"):
        assert context in extensions
    assert "[bench-ivr]" in extensions
    pjsip = (etc / "pjsip.conf").read_text()
    assert "permit = 127.0.0.1/32" in pjsip
    assert "match = 127.0.0.1/32" in pjsip
    assert "password = s3cret-password" in (etc / "ari.conf").read_text()
    assert "bindaddr = 127.0.0.1" in (etc / "http.conf").read_text()
    assert asterisk_stack.render_config(settings) == []  # unchanged: Asterisk needs no reload


def test_debian_mirror_comes_from_the_environment_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCP_DEBIAN_MIRROR", "http://mirror.invalid/debian")
    assert asterisk_stack.debian_mirror() == "http://mirror.invalid/debian"


async def _counts(url: str) -> tuple[int, ...]:
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            """SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM extensions),
                      (SELECT count(*) FROM key_assignments), (SELECT count(*) FROM prompts),
                      (SELECT count(*) FROM ring_group_members)"""
        )
    finally:
        await connection.close()
    assert row is not None
    return tuple(row)


async def test_demo_seed_is_idempotent(settings: StackSettings, make_database: object) -> None:
    from rcp.db.migrate import upgrade  # noqa: PLC0415

    assert callable(make_database)
    url: str = await asyncio.to_thread(make_database)
    await asyncio.to_thread(upgrade, url, configure_logging=False)
    seeded_settings = settings.model_copy(update={"database_url": url})
    async with create_pool(seeded_settings, "tests") as pool:
        first = await seed_demo(pool)
        counts = await _counts(url)
        second = await seed_demo(pool)
    assert first == second
    assert first.number == DEMO_NUMBER
    assert await _counts(url) == counts
    assert counts == (1, 4, 9, 3, 2)  # keys: 5 of the first menu, 4 of the English one (9 opens it)


@pytest.mark.parametrize("grace", ["60", "300"])
def test_the_stack_waits_at_least_the_drain_grace_before_killing_a_service(
    monkeypatch: pytest.MonkeyPatch, grace: str
) -> None:
    monkeypatch.setenv("RCP_STASIS_DRAIN_GRACE_S", grace)
    assert stop_timeout_s() > float(grace)


def test_the_call_detail_records_an_asterisk_of_before_kept_are_deleted(tmp_path: Path) -> None:
    logs = tmp_path / "var" / "log" / "asterisk"
    (logs / "cdr-csv").mkdir(parents=True)
    (logs / "cdr-custom").mkdir()
    (logs / "cdr-csv" / "Master.csv").write_text('"","+33612345678","+33199000001"\n')
    (logs / "messages").write_text("kept\n")

    gone = asterisk_stack.remove_call_detail_records(tmp_path)

    assert gone == [logs / "cdr-csv" / "Master.csv"]
    assert (logs / "messages").exists()
    assert asterisk_stack.remove_call_detail_records(tmp_path) == []


async def test_the_stacks_first_operator_is_made_once_with_a_password_shown_once(
    own_url: str,
) -> None:
    from rcp_admin.passwords import verify_password  # noqa: PLC0415
    from rcp_devstack.demo import FIRST_OPERATOR, ensure_first_operator  # noqa: PLC0415

    async with asyncpg.create_pool(own_url, min_size=1, max_size=1) as pool:
        first = await ensure_first_operator(pool)
        second = await ensure_first_operator(pool)
        row = await pool.fetchrow("SELECT * FROM users WHERE email = $1", FIRST_OPERATOR)

    assert first is not None
    assert second is None
    assert row is not None
    assert row["role"] == "operator"
    assert row["tenant_id"] is None
    assert await verify_password(row["password_hash"], first)
