"""Asterisk's configuration as production gets it: rendered by rcp_asterisk (the renderer the
image's entrypoint runs, and the local stack too) from the environment, offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rcp_asterisk import AsteriskValues, ConfigError, carrier_networks
from rcp_devstack.asterisk import DEV_DIALPLAN, TEMPLATES
from rcp_devstack.settings import REPO_ROOT

PRODUCTION_ENV = {
    "RCP_ARI_PASSWORD": "a-real-password",
    "RCP_CARRIER_HOST": "sbc.carrier.example:5060",
    "RCP_CARRIER_ADDRESSES": "192.0.2.0/28, 198.51.100.7 2001:db8::/64",
    "RCP_ASTERISK_SIP_HOST": "0.0.0.0",  # noqa: S104 - what the image binds SIP to
}


def _render(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python3 -m rcp_asterisk` as the image's entrypoint runs it: the package alone on the
    path, the standard library only, values from the environment."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("RCP_")}
    return subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
            "runpy.run_module('rcp_asterisk', run_name='__main__')",
            str(TEMPLATES),
            str(TEMPLATES),
            str(tmp_path),
        ],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _contexts(text: str) -> list[str]:
    return re.findall(r"^\[([^\]]+)\]", text, re.MULTILINE)


def test_the_production_dialplan_has_no_test_or_bench_context(tmp_path: Path) -> None:
    result = _render(tmp_path, PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    contexts = _contexts((tmp_path / "extensions.conf").read_text())
    assert "from-carrier" in contexts
    assert "receptionist-unavailable" in contexts
    assert not [c for c in contexts if c.startswith(("test-", "bench-"))], contexts
    # ...which the local stack's own template holds, and only it.
    local = _contexts(DEV_DIALPLAN.read_text())
    assert {"test-phones", "test-carrier", "test-apps", "bench-ivr"} <= set(local)


def test_the_trunk_is_identified_by_address_only_and_sip_is_accepted_from_the_carrier_only(
    tmp_path: Path,
) -> None:
    assert _render(tmp_path, PRODUCTION_ENV).returncode == 0
    pjsip = (tmp_path / "pjsip.conf").read_text()
    sections = re.split(r"^(?=\[)", pjsip, flags=re.MULTILINE)
    glob = next(s for s in sections if s.startswith("[global]"))
    assert "endpoint_identifier_order = ip\n" in glob
    endpoint = next(s for s in sections if "type = endpoint" in s)
    assert "identify_by = ip\n" in endpoint
    acl = next(s for s in sections if "type = acl" in s)
    rules = [line for line in acl.splitlines() if line.startswith(("deny", "permit"))]
    assert rules == [
        "deny = 0.0.0.0/0.0.0.0",
        "deny = ::/0",
        "permit = 192.0.2.0/28",
        "permit = 198.51.100.7/32",
        "permit = 2001:db8::/64",
    ]
    identify = next(s for s in sections if "type = identify" in s)
    assert [line for line in identify.splitlines() if line.startswith("match")] == [
        "match = 192.0.2.0/28",
        "match = 198.51.100.7/32",
        "match = 2001:db8::/64",
    ]
    assert "contact = sip:sbc.carrier.example:5060" in pjsip
    assert "bind = 0.0.0.0:5060" in pjsip
    logger = (tmp_path / "logger.conf").read_text()
    assert "security => security" in logger


@pytest.mark.parametrize(
    ("addresses", "message"),
    [
        ("", "at least one address"),
        ("0.0.0.0/0", "whole internet"),
        ("192.0.2.1/24", "no address or CIDR"),  # host bits set: a typo, surely
        ("carrier.example", "no address or CIDR"),
    ],
)
def test_a_bad_carrier_address_stops_the_renderer_with_a_message_naming_it(
    tmp_path: Path, addresses: str, message: str
) -> None:
    result = _render(tmp_path, {**PRODUCTION_ENV, "RCP_CARRIER_ADDRESSES": addresses})
    assert result.returncode == 2
    assert "RCP_CARRIER_ADDRESSES" in result.stderr
    assert message in result.stderr
    assert not (tmp_path / "pjsip.conf").exists()


def test_the_renderer_refuses_a_value_that_would_inject_configuration() -> None:
    with pytest.raises(ConfigError, match="RCP_FALLBACK_DIAL"):
        AsteriskValues(ari_password="x" * 8, fallback_dial="PJSIP/1@carrier\n[evil]")
    assert carrier_networks("10.1.2.3,10.1.2.3") == ("10.1.2.3/32",)


def test_the_image_renders_with_this_renderer_and_kubernetes_sets_the_carriers_addresses() -> None:
    entrypoint = (REPO_ROOT / "deploy" / "compose" / "asterisk" / "entrypoint.sh").read_text()
    assert "python3 -m rcp_asterisk" in entrypoint
    prepare = (REPO_ROOT / "deploy" / "compose" / "asterisk" / "prepare.sh").read_text()
    assert "python3 -m rcp_asterisk" in prepare  # Kubernetes' init container
    dockerfile = (REPO_ROOT / "deploy" / "compose" / "asterisk" / "Dockerfile").read_text()
    assert "COPY deploy/asterisk/rcp_asterisk/" in dockerfile
    copied = [line for line in dockerfile.splitlines() if line.startswith("COPY")]
    assert not [line for line in copied if "deploy/local" in line]  # no test contexts there
    docs = list(yaml.safe_load_all((REPO_ROOT / "k8s" / "base" / "telephony.yaml").read_text()))
    pod = next(d for d in docs if d["kind"] == "StatefulSet")["spec"]["template"]["spec"]
    renderer = next(c for c in pod["initContainers"] if c["name"] == "asterisk-config")
    env = {e["name"]: e for e in renderer["env"]}
    source = env["RCP_CARRIER_ADDRESSES"]["valueFrom"]["configMapKeyRef"]
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    carrier_networks(config["data"][source["key"]])  # a valid default
