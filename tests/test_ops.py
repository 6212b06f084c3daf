"""Alerts and dashboards: generated files current, promtool-valid, and reading only metrics
that the running services really export."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rcp_devstack.settings import REPO_ROOT
from rcp_ops.dashboards import DASHBOARDS, render
from rcp_ops.generate import main as generate
from rcp_ops.rules import EXTERNAL_METRICS, GROUPS

PROMTOOL = "promtool"
SERVICES = ("stasis", "directory", "media", "admin")


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


@pytest.fixture(scope="module")
def exported(
    migrated_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Each service started for real, and the text of its /metrics."""
    folder = tmp_path_factory.mktemp("ops")
    processes = []
    texts: dict[str, str] = {}
    try:
        ports = {}
        for service in SERVICES:
            ports[service] = _free_port()
            env = {
                **os.environ,
                "RCP_DATABASE_URL": migrated_url,
                "RCP_OPS_PORT": str(ports[service]),
                "RCP_ADMIN_HTTP_PORT": "0",
                "RCP_MEDIA_HTTP_PORT": "0",
                "RCP_MEDIA_DIR": str(folder / "media"),
                "RCP_MEDIA_NATS_SCOPE": "ops" + str(ports[service]),
                # Stasis takes calls on an app of its own and writes call records with a
                # consumer of its own: the running stack's are never touched.
                "RCP_ARI_APP": f"ops-{ports[service]}",
                "RCP_STASIS_CALL_RECORDS_DURABLE": f"ops-{ports[service]}",
                "RCP_STASIS_CALL_RECORDS_FROM_START": "false",
                "RCP_LOG_LEVEL": "WARNING",
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
                        f"http://127.0.0.1:{port}/metrics", timeout=2
                    ) as response:
                        texts[service] = response.read().decode()
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                pytest.fail(
                    f"{service} did not serve /metrics: {(folder / f'{service}.log').read_text()}"
                )
        yield texts
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


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
