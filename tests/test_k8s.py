"""The Kubernetes overlays render offline, validate against Kubernetes' schemas, and keep
the promises an ops team relies on (probes, limits, no privileges, secrets by reference)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from rcp import nats_access
from rcp.settings import CommonSettings, Environment
from rcp_admin.settings import Settings as AdminSettings
from rcp_devstack.settings import REPO_ROOT
from rcp_directory.settings import Settings as DirectorySettings
from rcp_media.settings import Settings as MediaSettings
from rcp_ops import nats_values
from rcp_stasis.records_app import Settings as CallRecordsServiceSettings
from rcp_stasis.settings import Settings as StasisSettings

KUBECTL = Path(sys.executable).parent / "kubectl"
KUBERNETES_VERSION = "1.33.0"
# Resources of operators (CloudNativePG, Prometheus Operator, cert-manager): not in
# Kubernetes' schemas.
CUSTOM_KINDS = {"Cluster", "PodMonitor", "PrometheusRule", "Certificate"}
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
                "cert-manager.io",
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


def test_production_keeps_the_configuration_store_on_every_node_of_the_nats_cluster() -> None:
    values = yaml.safe_load((REPO_ROOT / "deploy" / "helm" / "nats-values.yaml").read_text())
    nodes = values["config"]["cluster"]["replicas"]
    prod = render("prod")
    readers = {
        name: manifest_settings(container["command"][0], container_env(prod, container))
        for name, _, spec in _pods(prod)
        for container in _services_containers(spec)
    }
    assert {"receptionist-admin", "receptionist-directory"} <= readers.keys()
    assert {name: s.config_store_replicas for name, s in readers.items()} == dict.fromkeys(
        readers, nodes
    )
    assert nodes == 3


def test_the_schema_validator_really_rejects_a_broken_resource() -> None:
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


# The NATS user each program connects as (rcp.nats_access), by its command.
NATS_USER_OF = {
    "rcp-stasis": "stasis",
    "rcp-call-records": "stasis",  # it writes what stasis publishes, as stasis
    "rcp-directory": "directory",
    "rcp-media": "media",
    "rcp-admin": "admin",
    "receptionist": "retention",  # the CronJob: receptionist retention apply
}
NATS_CA = "/etc/receptionist/nats-ca"


def test_every_nats_client_logs_in_as_its_own_user_with_its_password_from_the_secret(
    resources: list[dict[str, Any]],
) -> None:
    production = {row.name for row in nats_access.production_users()}
    seen = set()
    for name, spec in _pod_specs(resources):
        for container in spec["containers"]:
            command = container.get("command", [""])[0]
            if command not in NATS_USER_OF:
                continue
            user = NATS_USER_OF[command]
            env = {e["name"]: e for e in container["env"]}
            where = f"{name}:{container['name']}"
            assert env["RCP_NATS_USER"]["value"] == user, where
            assert env["RCP_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                "name": nats_values.SECRET,
                "key": user,
            }, where
            assert user in production, where
            mounts = {m["name"]: m for m in container["volumeMounts"]}
            assert mounts["nats-ca"] == {"name": "nats-ca", "mountPath": NATS_CA, "readOnly": True}
            volume = next(v for v in spec["volumes"] if v["name"] == "nats-ca")["secret"]
            assert volume["secretName"] == nats_values.TLS_SECRET, where
            assert volume["items"] == [{"key": "ca.crt", "path": "ca.crt"}], where  # no key
            seen.add(user)
    assert seen == set(NATS_USER_OF.values())


def test_production_speaks_tls_to_nats_and_checks_it_against_the_mounted_ca() -> None:
    def config(overlay: str) -> dict[str, str]:
        found = next(r for r in render(overlay) if r["metadata"]["name"] == "receptionist-config")
        return dict(found["data"])

    prod = config("prod")
    assert prod["RCP_NATS_URL"] == "tls://nats:4222"
    assert prod["RCP_NATS_TLS_CA_FILE"] == f"{NATS_CA}/ca.crt"
    certificate = next(r for r in render("prod") if r["kind"] == "Certificate")
    assert certificate["spec"]["secretName"] == nats_values.TLS_SECRET
    assert "nats" in certificate["spec"]["dnsNames"]
    helm = yaml.safe_load((REPO_ROOT / "deploy/helm/nats-values-prod.yaml").read_text())
    assert helm["config"]["nats"]["tls"] == {
        "enabled": True,
        "secretName": nats_values.TLS_SECRET,
    }
    assert config("dev")["RCP_NATS_URL"].startswith("nats://")


def test_the_nats_helm_values_hold_the_production_users_with_passwords_from_the_secret() -> None:
    values = yaml.safe_load((REPO_ROOT / "deploy/helm/nats-values.yaml").read_text())
    users = values["config"]["merge"]["authorization"]["users"]
    assert [user["user"] for user in users] == [row.name for row in nats_access.production_users()]
    for user in users:
        variable = nats_values.password_variable(user["user"])
        assert user["password"] == f"<< ${variable} >>"
        assert user["permissions"] == nats_access.user(user["user"]).permissions()
        assert values["container"]["env"][variable] == {
            "valueFrom": {"secretKeyRef": {"name": nats_values.SECRET, "key": user["user"]}}
        }


def test_the_helm_authorization_is_a_configuration_nats_server_accepts(tmp_path: Path) -> None:
    values = yaml.safe_load((REPO_ROOT / "deploy/helm/nats-values.yaml").read_text())
    # What the chart writes: `<< $VAR >>` becomes a bare $VAR, read from the environment.
    block = re.sub(
        r'"<< (\$[A-Z_]+) >>"', r"\1", json.dumps(values["config"]["merge"]["authorization"])
    )
    config = tmp_path / "nats.conf"
    config.write_text(f"listen: 127.0.0.1:-1\nauthorization: {block}\n")
    env = {
        nats_values.password_variable(row.name): f"pw-{row.name}"
        for row in nats_access.production_users()
    }
    checked = subprocess.run(
        [str(Path(sys.executable).parent / "nats-server"), "-c", str(config), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "is valid" in checked.stdout + checked.stderr


# --- ports: what the manifests expect of a container is what its settings make it do ------

SERVICE_SETTINGS: dict[str, type[CommonSettings]] = {
    "rcp-stasis": StasisSettings,
    "rcp-call-records": CallRecordsServiceSettings,
    "rcp-directory": DirectorySettings,
    "rcp-media": MediaSettings,
    "rcp-admin": AdminSettings,
}
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _only_given(cls: type[CommonSettings], settings_cls: Any, /, **sources: Any) -> tuple[Any, ...]:
    return (sources["init_settings"],)


def manifest_settings(command: str, env: dict[str, str]) -> CommonSettings:
    """A service's settings from its container's variables alone (not this test run's)."""
    isolated = type(
        "FromManifest",
        (SERVICE_SETTINGS[command],),
        {"settings_customise_sources": classmethod(_only_given)},
    )
    given = {
        name.removeprefix("RCP_").lower(): value
        for name, value in env.items()
        if name.startswith("RCP_")
    }
    settings = isolated(**given)
    assert isinstance(settings, CommonSettings)
    return settings


def container_env(resources: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The container's variables with a value in the manifests (Secrets' are not read)."""
    maps = {r["metadata"]["name"]: r.get("data", {}) for r in resources if r["kind"] == "ConfigMap"}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        elif "configMapKeyRef" in variable.get("valueFrom", {}):
            ref = variable["valueFrom"]["configMapKeyRef"]
            env[variable["name"]] = maps[ref["name"]][ref["key"]]
    return env


def listeners(settings: CommonSettings) -> dict[int, str]:
    """Port -> address of each server the service's settings make it start."""
    found = {settings.effective_ops_port: settings.ops_host}
    if isinstance(settings, MediaSettings):
        found[settings.media_http_port] = settings.media_http_host
    if isinstance(settings, AdminSettings):
        found[settings.admin_http_port] = settings.admin_http_host
    return found


def _pods(resources: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each long-running workload: its name, its pod template's labels and its pod spec."""
    return [
        (
            r["metadata"]["name"],
            r["spec"]["template"]["metadata"]["labels"],
            r["spec"]["template"]["spec"],
        )
        for r in resources
        if r["kind"] in ("Deployment", "StatefulSet")
    ]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _services_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in spec["containers"] if c.get("command", [""])[0] in SERVICE_SETTINGS]


def _container_port(spec: dict[str, Any], port: int | str) -> tuple[dict[str, Any], int]:
    """The container and port number a (named or numbered) port of the pod is."""
    for container in spec["containers"]:
        for declared in container.get("ports", []):
            if port in (declared.get("name"), declared["containerPort"]):
                return container, declared["containerPort"]
    raise AssertionError(f"no container declares port {port!r}")


def test_every_service_targets_a_port_its_container_listens_on_beyond_loopback(
    resources: list[dict[str, Any]],
) -> None:
    services = [r for r in resources if r["kind"] == "Service"]
    assert services
    for service in services:
        selected = [p for p in _pods(resources) if _selects(service["spec"]["selector"], p[1])]
        assert selected, service["metadata"]["name"]
        for _, _, spec in selected:
            for port in service["spec"]["ports"]:
                container, number = _container_port(spec, port["targetPort"])
                where = f"Service/{service['metadata']['name']}:{port['name']}"
                settings = manifest_settings(
                    container["command"][0], container_env(resources, container)
                )
                listening = listeners(settings)
                assert number in listening, (where, number, listening)
                assert listening[number] not in LOOPBACK, (where, listening[number])


def test_every_declared_port_and_probe_is_one_the_service_listens_on(
    resources: list[dict[str, Any]],
) -> None:
    for name, _, spec in _pods(resources):
        for container in _services_containers(spec):
            listening = listeners(
                manifest_settings(container["command"][0], container_env(resources, container))
            )
            declared = {p["containerPort"] for p in container.get("ports", [])}
            assert declared == set(listening), (name, declared, listening)
            for probe in ("readinessProbe", "livenessProbe"):
                get = container[probe]["httpGet"]
                _, number = _container_port(spec, get["port"])
                if listening[number] in LOOPBACK:  # only the node's own kubelet reaches it
                    assert spec.get("hostNetwork"), name
                    assert get.get("host") == "127.0.0.1", name
                else:
                    assert "host" not in get, name


def test_media_tells_asterisk_the_service_address_that_reaches_its_http_server(
    resources: list[dict[str, Any]],
) -> None:
    [(_, labels, spec)] = [p for p in _pods(resources) if p[0] == "receptionist-media"]
    [container] = _services_containers(spec)
    settings = manifest_settings("rcp-media", container_env(resources, container))
    assert isinstance(settings, MediaSettings)
    assert settings.media_base_url is not None
    url = urlsplit(settings.media_base_url)
    service = next(
        r for r in resources if r["kind"] == "Service" and r["metadata"]["name"] == url.hostname
    )
    assert _selects(service["spec"]["selector"], labels)
    [port] = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    assert _container_port(spec, port["targetPort"])[1] == settings.media_http_port


def test_network_policies_open_the_ports_the_pods_listen_on(
    resources: list[dict[str, Any]],
) -> None:
    pods = _pods(resources)

    def ports_of(selector: dict[str, str]) -> set[int]:
        return {
            p["containerPort"]
            for _, labels, spec in pods
            if _selects(selector, labels)
            for c in spec["containers"]
            for p in c.get("ports", [])
        }

    ours = {labels["app.kubernetes.io/name"] for _, labels, _ in pods}
    checked = 0
    for policy in (r for r in resources if r["kind"] == "NetworkPolicy"):
        spec = policy["spec"]
        selector = spec["podSelector"].get("matchLabels", {})
        if selector.get("app.kubernetes.io/name") in ours:
            for rule in spec.get("ingress", []):
                for port in rule.get("ports", []):
                    assert port["port"] in ports_of(selector), policy["metadata"]["name"]
                    checked += 1
        for rule in spec.get("egress", []):
            for peer in rule.get("to", []):
                target = peer.get("podSelector", {}).get("matchLabels", {})
                if target.get("app.kubernetes.io/name") in ours:
                    for port in rule.get("ports", []):
                        assert port["port"] in ports_of(target), policy["metadata"]["name"]
                        checked += 1
    assert checked >= 4


# --- secrets, NATS's walls, ops ports, Asterisk's confinement, pinned images ---------------

SECRET_PLACEHOLDER = "a-value-from-a-kubernetes-secret"


def test_every_secret_a_service_needs_in_production_comes_from_a_secret(
    resources: list[dict[str, Any]],
) -> None:
    for name, _, spec in _pods(resources):
        for container in _services_containers(spec):
            env = container_env(resources, container)
            from_secrets = {
                v["name"]
                for v in container.get("env", [])
                if "secretKeyRef" in v.get("valueFrom", {})
            }
            env |= dict.fromkeys(from_secrets, SECRET_PLACEHOLDER)
            env["RCP_DATABASE_URL"] = f"postgresql://user:{SECRET_PLACEHOLDER}@db/receptionist"
            # The URL names the service's role; its password is the role's Secret (PGPASSWORD).
            assert "PGPASSWORD" in from_secrets, name
            settings = manifest_settings(container["command"][0], env)
            assert settings.environment is Environment.PRODUCTION, name
            assert settings.production_problems() == [], name


def _policies(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r["spec"] for r in resources if r["kind"] == "NetworkPolicy"}


NATS_SERVER = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats"}


def test_nats_servers_admit_clients_routes_and_scrapes_only_and_reach_only_each_other(
    resources: list[dict[str, Any]],
) -> None:
    values = yaml.safe_load((REPO_ROOT / "deploy" / "helm" / "nats-values.yaml").read_text())
    client_port = values["config"].get("nats", {}).get("port", 4222)
    cluster_port = values["config"]["cluster"].get("port", 6222)
    policies = _policies(resources)
    ingress = policies["receptionist-nats-ingress"]
    assert ingress["podSelector"] == {"matchLabels": NATS_SERVER}
    assert ingress["policyTypes"] == ["Ingress"]
    admitted = {
        port["port"]: list(rule["from"]) for rule in ingress["ingress"] for port in rule["ports"]
    }
    assert set(admitted) == {client_port, cluster_port, 8222, 7777}
    assert {"podSelector": {"matchLabels": {"receptionist/nats-client": "true"}}} in admitted[
        client_port
    ]
    assert admitted[cluster_port] == [{"podSelector": {"matchLabels": NATS_SERVER}}]
    assert all("namespaceSelector" in peer for peer in admitted[8222] + admitted[7777])
    egress = policies["receptionist-nats-egress"]
    assert egress["podSelector"] == {"matchLabels": NATS_SERVER}
    assert egress["egress"] == [
        {
            "to": [{"podSelector": {"matchLabels": NATS_SERVER}}],
            "ports": [{"port": cluster_port, "protocol": "TCP"}],
        }
    ]
    clients = policies["receptionist-nats-clients"]["egress"]
    assert clients == [
        {
            "to": [{"podSelector": {"matchLabels": NATS_SERVER}}],
            "ports": [{"port": client_port, "protocol": "TCP"}],
        }
    ]
    # Every pod that talks to NATS says so with the label both policies select on.
    for name, labels, spec in _pods(resources):
        if _services_containers(spec):
            assert labels.get("receptionist/nats-client") == "true", name


def test_ops_ports_on_the_nodes_network_are_loopback_or_need_the_ops_token(
    resources: list[dict[str, Any]],
) -> None:
    on_node = [(name, spec) for name, _, spec in _pods(resources) if spec.get("hostNetwork")]
    assert [name for name, _ in on_node] == ["receptionist-telephony"]
    monitors = {r["metadata"]["name"]: r["spec"] for r in resources if r["kind"] == "PodMonitor"}
    for name, spec in on_node:
        for container in _services_containers(spec):
            settings = manifest_settings(
                container["command"][0], container_env(resources, container)
            )
            tokens = {
                v["name"]: v["valueFrom"]["secretKeyRef"]
                for v in container.get("env", [])
                if "secretKeyRef" in v.get("valueFrom", {})
            }
            if settings.ops_host in LOOPBACK:
                continue
            token = tokens["RCP_OPS_METRICS_TOKEN"]
            [endpoint] = monitors[name]["podMetricsEndpoints"]
            assert endpoint["authorization"]["credentials"] == token
        asterisk = next(c for c in spec["containers"] if c["name"] == "asterisk")
        assert not asterisk.get("env")  # its settings went to the init container that renders
        prepare = next(c for c in spec["initContainers"] if c["name"] == "asterisk-config")
        prepared = container_env(resources, prepare)
        assert prepared["RCP_ASTERISK_HTTP_HOST"] in LOOPBACK  # ARI: stasis beside it only
    # The other pods' ops ports are reached only through the NetworkPolicies.
    scrape = _policies(resources)["receptionist-scrape"]["ingress"]
    assert [peer for rule in scrape for peer in rule["from"]] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]


def test_asterisk_runs_unprivileged_on_a_read_only_root_with_its_configuration_rendered_first(
    resources: list[dict[str, Any]],
) -> None:
    telephony = next(r for r in resources if r["kind"] == "StatefulSet")
    spec = telephony["spec"]["template"]["spec"]
    asterisk = next(c for c in spec["containers"] if c["name"] == "asterisk")
    security = asterisk["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] != 0
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert "-U" not in asterisk["command"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in asterisk["volumeMounts"]}
    for path in ("/etc/asterisk", "/var/lib/asterisk", "/var/spool/asterisk", "/run/asterisk"):
        assert "emptyDir" in volumes[mounts[path]["name"]], path
    assert mounts["/etc/asterisk"]["readOnly"] is True
    prepare = next(c for c in spec["initContainers"] if c["name"] == "asterisk-config")
    assert prepare["image"] == asterisk["image"]
    assert prepare["command"][0] == "rcp-asterisk-prepare"
    assert prepare["securityContext"]["runAsUser"] == security["runAsUser"]
    assert prepare["securityContext"]["readOnlyRootFilesystem"] is True
    prepared = {m["name"] for m in prepare["volumeMounts"]}
    assert mounts["/etc/asterisk"]["name"] in prepared
    assert "RCP_ARI_PASSWORD" in {v["name"] for v in prepare["env"]}
    # The image makes that user, and has the script the init container runs.
    dockerfile = (REPO_ROOT / "deploy" / "compose" / "asterisk" / "Dockerfile").read_text()
    assert f"--uid {security['runAsUser']}" in dockerfile
    assert "/usr/local/bin/rcp-asterisk-prepare" in dockerfile


def _images(resources: list[dict[str, Any]]) -> list[str]:
    images = [
        container["image"]
        for _, spec in _pod_specs(resources)
        for container in spec.get("initContainers", []) + spec["containers"]
    ]
    images += [r["spec"]["imageName"] for r in resources if r["kind"] == "Cluster"]
    return images


def _unpinned(images: list[str]) -> list[str]:
    return [i for i in images if not re.fullmatch(r"[^@\s]+@sha256:[0-9a-f]{64}", i)]


def test_the_prod_overlay_pins_every_image_by_digest() -> None:
    images = _images(render("prod"))
    assert len(images) > 10  # every container of every workload, and Postgres
    assert _unpinned(images) == []


def test_a_bare_tag_in_the_prod_overlay_fails_the_pinning_check(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "k8s", tmp_path / "k8s")
    overlay = tmp_path / "k8s" / "overlays" / "prod" / "kustomization.yaml"
    kustomization = yaml.safe_load(overlay.read_text())
    kustomization["images"][0] = {"name": "receptionist/services", "newTag": "0.2.0"}
    overlay.write_text(yaml.safe_dump(kustomization))
    rendered = subprocess.run(
        [str(KUBECTL), "kustomize", str(overlay.parent)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    resources = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    unpinned = _unpinned(_images(resources))
    assert unpinned
    assert {image.rsplit(":", 1)[1] for image in unpinned} == {"0.2.0"}


# workload -> the database role it logs in as (docs/schema.md)
DATABASE_ROLES = {
    "Deployment/receptionist-admin": "rcp_admin",
    "Deployment/receptionist-call-records": "rcp_stasis",
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
