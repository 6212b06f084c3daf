"""The Kubernetes overlays render offline, validate against Kubernetes' schemas, and keep
the promises an ops team relies on (probes, limits, no privileges, secrets by reference)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from rcp_devstack.settings import REPO_ROOT

KUBECTL = Path(sys.executable).parent / "kubectl"
KUBERNETES_VERSION = "1.33.0"
# Resources of operators (CloudNativePG, Prometheus Operator): not in Kubernetes' schemas.
CUSTOM_KINDS = {"Cluster", "PodMonitor", "PrometheusRule"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def render(overlay: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(REPO_ROOT / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=["dev", "prod"])
def resources(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def _pod_specs(resources: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{r['kind']}/{r['metadata']['name']}", r["spec"]["template"]["spec"])
        for r in resources
        if r["kind"] in WORKLOADS
    ] + [
        (f"Job/{r['metadata']['name']}", r["spec"]["jobTemplate"]["spec"]["template"]["spec"])
        for r in resources
        if r["kind"] == "CronJob"
    ]


def test_overlays_validate_against_kubernetes_schemas_offline(
    resources: list[dict[str, Any]],
) -> None:
    kinds = {r["kind"] for r in resources}
    assert {
        "Deployment",
        "StatefulSet",
        "Job",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Cluster",
        "PodMonitor",
        "CronJob",
    } <= kinds
    for resource in resources:
        if resource["kind"] in CUSTOM_KINDS:
            assert resource["apiVersion"].split("/")[0] in (
                "postgresql.cnpg.io",
                "monitoring.coreos.com",
            )
            continue
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_every_container_has_requests_memory_limits_and_drops_privileges(
    resources: list[dict[str, Any]],
) -> None:
    for name, spec in _pod_specs(resources):
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name}:{container['name']}"
            assert container["resources"]["requests"], where
            assert container["resources"]["limits"]["memory"], where
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert "ALL" in security["capabilities"]["drop"], where
            assert not security.get("privileged", False), where


def test_long_running_services_have_probes_on_the_libs_health_endpoints(
    resources: list[dict[str, Any]],
) -> None:
    for name, spec in _pod_specs(resources):
        if name.startswith("Job/"):
            continue
        for container in spec["containers"]:
            if container["name"] == "asterisk":
                continue
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name


def test_services_wait_for_the_migrations_job(resources: list[dict[str, Any]]) -> None:
    job = next(r for r in resources if r["kind"] == "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "rcp-migrate",
        "upgrade",
        "head",
    ]
    for name, spec in _pod_specs(resources):
        if name.startswith("Job/"):
            continue
        assert spec["initContainers"][0]["command"][:2] == ["rcp-migrate", "wait"], name


def test_the_retention_job_runs_hourly_once_at_a_time_after_the_migrations(
    resources: list[dict[str, Any]],
) -> None:
    job = next(r for r in resources if r["kind"] == "CronJob")
    assert job["spec"]["schedule"].split()[1:] == ["*", "*", "*", "*"]
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["command"][:2] == ["rcp-migrate", "wait"]
    assert pod["containers"][0]["command"] == ["receptionist", "retention", "apply"]
    labels = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert labels["receptionist/db-client"] == labels["receptionist/nats-client"] == "true"


def test_secrets_are_only_referenced_never_inlined(resources: list[dict[str, Any]]) -> None:
    assert not [r for r in resources if r["kind"] == "Secret"]
    text = yaml.safe_dump_all(resources)
    assert "secretKeyRef" in text
    for word in ("password:", "pepper:"):
        assert word not in text.lower().replace("ari-password", "").replace("token-pepper", "")


def test_telephony_pod_pairs_asterisk_and_stasis_and_drains_gracefully(
    resources: list[dict[str, Any]],
) -> None:
    telephony = next(r for r in resources if r["kind"] == "StatefulSet")
    spec = telephony["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["asterisk", "stasis"]
    asterisk = spec["containers"][0]
    assert asterisk["lifecycle"]["preStop"]["exec"]["command"] == [
        "asterisk",
        "-rx",
        "core stop gracefully",
    ]
    assert spec["terminationGracePeriodSeconds"] >= 300
    stasis_env = {e["name"]: e.get("value") for e in spec["containers"][1]["env"]}
    assert stasis_env["RCP_ARI_URL"] == "http://127.0.0.1:8088"


def test_network_policies_deny_by_default(resources: list[dict[str, Any]]) -> None:
    policies = {r["metadata"]["name"]: r for r in resources if r["kind"] == "NetworkPolicy"}
    deny = policies["receptionist-default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny
    assert "egress" not in deny


def test_nats_helm_values_enable_clustered_jetstream_with_persistence() -> None:
    values = yaml.safe_load((REPO_ROOT / "deploy" / "helm" / "nats-values.yaml").read_text())
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
    assert values["config"]["jetstream"]["fileStore"]["pvc"]["enabled"] is True


def test_the_schema_validator_really_rejects_a_broken_resource() -> None:
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


# workload -> the database role it logs in as (docs/schema.md)
DATABASE_ROLES = {
    "Deployment/receptionist-admin": "rcp_admin",
    "Deployment/receptionist-directory": "rcp_directory",
    "Deployment/receptionist-media": "rcp_media",
    "StatefulSet/receptionist-telephony": "rcp_stasis",
    "Job/receptionist-retention": "rcp_admin",
}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container.get("env", [])}


def test_each_service_logs_in_as_its_own_database_role_and_only_migrations_as_the_owner(
    resources: list[dict[str, Any]],
) -> None:
    seen: dict[str, set[str]] = {}
    for name, spec in _pod_specs(resources):
        for container in spec.get("initContainers", []) + spec["containers"]:
            env = _env(container)
            if "RCP_DATABASE_URL" not in env:
                continue
            url = env["RCP_DATABASE_URL"]
            if name == "Job/receptionist-migrate":
                assert url["valueFrom"]["secretKeyRef"]["name"] == "receptionist-db-app"
                continue
            role = url["value"].removeprefix("postgresql://").split("@")[0]
            secret = env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]
            assert (secret["name"], secret["key"]) == (
                f"receptionist-db-{role.removeprefix('rcp_')}",
                "password",
            ), name
            seen.setdefault(name, set()).add(role)
    assert seen == {name: {role} for name, role in DATABASE_ROLES.items()}


def test_cloudnativepg_manages_the_service_roles_from_their_secrets(
    resources: list[dict[str, Any]],
) -> None:
    cluster = next(r for r in resources if r["kind"] == "Cluster")
    roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}

    assert set(roles) == set(DATABASE_ROLES.values())
    for name, role in roles.items():
        assert role["login"] is True
        assert (role["superuser"], role["bypassrls"]) == (False, False), name
        assert role["passwordSecret"]["name"] == f"receptionist-db-{name.removeprefix('rcp_')}"
