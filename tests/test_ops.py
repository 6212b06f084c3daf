"""Alerts and dashboards: generated files current, promtool-valid, and reading only metrics
that the running services really export."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import asyncpg
import nats
import pytest
from nats_support import login
from rcp_devstack.settings import REPO_ROOT, StackSettings
from rcp_ops.dashboards import DASHBOARDS, render
from rcp_ops.generate import main as generate
from rcp_ops.rules import EXTERNAL_METRICS, GROUPS
from stasis_e2e_support import (
    Apps,
    delete_durable,
    ended_call,
    kind,
    metric_sum,
    phones,
    provision,
    traced,
)

PROMTOOL = "promtool"
SERVICES = ("stasis", "call-records", "directory", "media", "admin")


def _promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def test_generated_rules_and_dashboards_are_up_to_date() -> None:
    assert generate(["--check"]) == 0, "run rcp-ops-generate and commit the result"


def test_rules_pass_promtool_check_and_its_unit_tests() -> None:
    checked = _promtool(
        "check", "rules", str(REPO_ROOT / "deploy/prometheus/receptionist-rules.yml")
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = _promtool(
        "test", "rules", str(REPO_ROOT / "deploy/prometheus/receptionist-rules-test.yml")
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_its_runbook_section() -> None:
    runbooks = (REPO_ROOT / "deploy" / "runbooks.md").read_text()
    for alerts in GROUPS.values():
        for alert in alerts:
            assert f"\n## {alert.name}\n" in runbooks, alert.name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    """The four services started for real as one system of their own: their ops ports and
    the Stasis apps of their calls."""

    ops_ports: dict[str, int]
    apps: Apps


@pytest.fixture(scope="module")
def running(
    migrated_url: str, asterisk: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """Each service started as its own process, wired to the others on subjects and a
    Stasis app of this module's own: the running stack's are never touched."""
    folder = tmp_path_factory.mktemp("ops")
    run = uuid.uuid4().hex[:10]
    apps = Apps(
        settings=asterisk,
        app=f"ops-{run}",
        phones_app=f"ops-phones-{run}",
        caller_app=f"ops-caller-{run}",
    )
    processes = []
    ports = {service: _free_port() for service in SERVICES}
    try:
        for service in SERVICES:
            env = {
                **os.environ,
                "RCP_DATABASE_URL": migrated_url,
                "RCP_OPS_PORT": str(ports[service]),
                "RCP_ADMIN_HTTP_PORT": "0",
                "RCP_MEDIA_HTTP_PORT": "0",
                "RCP_MEDIA_DIR": str(folder / "media"),
                "RCP_MEDIA_NATS_SCOPE": f"ops{run}",
                "RCP_DIRECTORY_NATS_SCOPE": f"ops{run}",
                "RCP_ARI_APP": apps.app,
                "RCP_STASIS_CALL_RECORDS_DURABLE": f"ops-{run}",
                "RCP_STASIS_CALL_RECORDS_FROM_START": "false",
                "RCP_LOG_LEVEL": "WARNING",
                # The phones are Local channels into the test-apps context: development only.
                "RCP_ENVIRONMENT": "development",
                "RCP_ALLOW_TEST_PHONES": "true",
            }
            with (folder / f"{service}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        [str(Path(sys.executable).parent / f"rcp-{service}")],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        for service, port in ports.items():
            for _ in range(300):
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/readyz", timeout=2
                    ) as response:
                        if response.status == HTTPStatus.OK:
                            break
                except OSError:
                    pass
                time.sleep(0.1)
            else:
                pytest.fail(
                    f"{service} did not get ready: {(folder / f'{service}.log').read_text()}"
                )
        yield Running(ports, apps)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        asyncio.run(_delete_durable(asterisk, f"ops-{run}"))


async def _delete_durable(settings: StackSettings, durable: str) -> None:
    nc = await nats.connect(settings.nats_url, **login())
    try:
        await delete_durable(nc.jetstream(), durable)
    finally:
        await nc.close()


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


@pytest.fixture(scope="module")
def exported(running: Running) -> dict[str, str]:
    """The text of each service's /metrics."""
    return {service: _scrape(port) for service, port in running.ops_ports.items()}


def test_exported_metrics_pass_promtool_check_metrics(exported: dict[str, str]) -> None:
    for service, text in exported.items():
        checked = _promtool("check", "metrics", stdin=text)
        assert checked.returncode == 0, f"{service}: {checked.stdout}{checked.stderr}"


def _names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def _used_in(expr: str) -> set[str]:
    functions = {"sum", "rate", "by", "histogram_quantile", "max", "le", "min", "avg", "increase"}
    return {
        name
        for name in re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?:\{|\[|\)|$|\s)", expr)
        if name not in functions and "_" in name
    } | ({"up"} if re.search(r"\bup\{", expr) else set())


def test_every_metric_a_rule_or_dashboard_reads_is_exported(exported: dict[str, str]) -> None:
    available = set().union(*(_names(text) for text in exported.values())) | EXTERNAL_METRICS
    used: set[str] = set()
    for alerts in GROUPS.values():
        for alert in alerts:
            used |= _used_in(alert.expr)
    for build in DASHBOARDS.values():
        for expr in re.findall(r'"expr": "((?:[^"\\]|\\.)*)"', json.dumps(render(build()))):
            used |= _used_in(json.loads(f'"{expr}"'))
    assert used, "no metric names were found: the parser is broken"
    assert sorted(used - available) == []


def _as_postgres(sql: str, tenant_id: str) -> str:
    """A Grafana PostgreSQL panel's query with its macros expanded as Grafana does."""
    units = {"'1h'": "hour", "'1d'": "day"}
    sql = re.sub(
        r"\$__timeGroupAlias\((\w+(?:\.\w+)?), ('1[hd]')\)",
        lambda m: f"date_trunc('{units[m.group(2)]}', {m.group(1)}) AS time",
        sql,
    )
    sql = re.sub(
        r"\$__timeFilter\((\w+(?:\.\w+)?)\)",
        r"\1 BETWEEN now() - interval '30 days' AND now() + interval '1 day'",
        sql,
    )
    return sql.replace("$tenant", tenant_id)


async def test_tenant_dashboard_queries_count_calls_keys_lookups_and_voicemail(
    db: asyncpg.Connection,
) -> None:
    from rcp_ops.dashboards import TENANT_SQL  # noqa: PLC0415

    tenant_id = await db.fetchval(
        "INSERT INTO tenants (slug, name) VALUES ('dash-' || substr(md5(random()::text), 1, 8), 'Dash') RETURNING id"
    )
    other_id = await db.fetchval(
        "INSERT INTO tenants (slug, name) VALUES ('dash-' || substr(md5(random()::text), 1, 8), 'Other') RETURNING id"
    )

    def entry(seq: int, kind: str, **data: object) -> dict[str, object]:
        return {"seq": seq, "kind": kind, "at": "2026-11-28T09:00:00+00:00", "data": data}

    calls = [
        (
            tenant_id,
            "a",
            "transferred",
            [
                entry(1, "started"),
                entry(2, "key", digit="1", action="dial_by_name"),
                entry(3, "lookup_result", total=1, page=0, heard=1),
            ],
        ),
        (
            tenant_id,
            "b",
            "voicemail",
            [
                entry(4, "key", digit="1", action="dial_by_name"),
                entry(5, "lookup_result", total=0, page=0, heard=0),
                entry(6, "key", digit="3", action="transfer"),
            ],
        ),
        (
            tenant_id,
            "c",
            "announcement",
            [
                entry(7, "key", digit="2", action="play_announcement"),
                entry(8, "lookup_result", failed="unavailable"),
            ],
        ),
        (other_id, "d", "transferred", [entry(9, "key", digit="1", action="dial_by_name")]),
    ]
    for owner, call_id, outcome, trace in calls:
        await db.execute(
            """INSERT INTO call_records (tenant_id, call_id, called_number, started_at, ended_at, outcome, trace)
               VALUES ($1, $2, '+33199000001', now() - interval '2 hours', now() - interval '1 hour', $3, $4::jsonb)""",
            owner,
            call_id,
            outcome,
            json.dumps(trace),
        )
    recording = await db.fetchval(
        """INSERT INTO prompts (tenant_id, source, status, content_hash)
           VALUES ($1, 'recording', 'ready', repeat('d', 64)) RETURNING id""",
        tenant_id,
    )
    await db.execute(
        """INSERT INTO voicemail_messages (tenant_id, extension_number, prompt_id, duration_ms)
                        VALUES ($1, '101', $2, 5000)""",
        tenant_id,
        recording,
    )

    run = {
        name: await db.fetch(_as_postgres(sql, str(tenant_id))) for name, sql in TENANT_SQL.items()
    }

    assert sum(row["calls"] for row in run["calls"]) == 3
    assert sorted((row["metric"], row["value"]) for row in run["outcomes"]) == [
        ("announcement", 1),
        ("transferred", 1),
        ("voicemail", 1),
    ]
    assert (run["keys"][0]["action"], run["keys"][0]["presses"]) == ("dial_by_name", 2)
    assert {row["action"]: row["presses"] for row in run["keys"]} == {
        "dial_by_name": 2,
        "transfer": 1,
        "play_announcement": 1,
    }
    lookups = run["dial_by_name"][0]
    assert (lookups["found"], lookups["no match"], lookups["failed"]) == (1, 1, 1)
    assert sum(row["messages"] for row in run["voicemail"]) == 1


async def test_a_real_call_is_counted_by_outcome_key_action_and_lookup_result(
    running: Running, migrated_url: str
) -> None:
    # A caller dials the tenant through Asterisk, presses 1 (dial by name), spells P-O-U:
    # the directory finds Amélie Poulain alone, her phone answers, the caller hangs up.
    tenant = await provision(migrated_url, running.apps.phones_app)
    async with phones(running.apps) as lines:
        caller = await lines.call(tenant)
        since = lines.mark()
        await traced(migrated_url, tenant, kind("menu", reason="greeting"))
        await lines.press(caller, "1")
        await traced(migrated_url, tenant, kind("key", action="dial_by_name"))
        await lines.press(caller, "768")
        await lines.answer(await lines.ringing(tenant, "101", since))
        await lines.stasis_bridge()
        await lines.hang_up(caller)
        await ended_call(migrated_url, tenant)
        await lines.stasis_holds_nothing()
    stasis = _scrape(running.ops_ports["stasis"])
    assert metric_sum(stasis, "rcp_stasis_calls_total", outcome="transferred") == 1
    assert metric_sum(stasis, "rcp_stasis_key_presses_total", action="dial_by_name") == 1
    assert (
        metric_sum(stasis, "rcp_stasis_transfers_total", kind="extension", result="answered") == 1
    )
    assert metric_sum(stasis, "rcp_stasis_dtmf_to_action_seconds_count") >= 1
    assert metric_sum(stasis, "rcp_stasis_active_calls") == 0
    directory = _scrape(running.ops_ports["directory"])
    assert (
        metric_sum(directory, "rcp_directory_lookups_total", endpoint="search", result="one") == 1
    )
    media = _scrape(running.ops_ports["media"])
    # Asterisk fetched this call's prompts (greeting, "first letters", the name) from media.
    assert metric_sum(media, "rcp_media_http_requests_total", status="200") >= 3
