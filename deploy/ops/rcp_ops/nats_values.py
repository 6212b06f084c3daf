"""Values of the official NATS Helm chart (nats/nats 1.x): a three-node cluster with JetStream
on persistent volumes, the production users and permissions of `rcp.nats_access`, and (prod)
TLS. Written to deploy/helm/ by rcp-ops-generate.

Passwords never appear here: each user's is a key of the Secret `receptionist-nats` (the same
keys the services' manifests read), handed to the server as an environment variable that its
configuration names (`<< $VAR >>` is the chart's way to write a bare `$VAR`).
"""

from __future__ import annotations

import json
from typing import Any

from rcp import nats_access

SECRET = "receptionist-nats"  # noqa: S105 - the name of a Secret, not one
# The server's certificate (cert-manager, prod overlay); its ca.crt is what clients trust.
TLS_SECRET = "nats-server-tls"  # noqa: S105 - the name of a Secret, not one


def password_variable(user: str) -> str:
    """The environment variable of the NATS container that holds `user`'s password."""
    return f"RCP_NATS_PASSWORD_{user.upper()}"


def values() -> dict[str, Any]:
    """The values every installation uses (deploy/helm/nats-values.yaml)."""
    users = nats_access.production_users()
    passwords = {row.name: f"<< ${password_variable(row.name)} >>" for row in users}
    return {
        "config": {
            "cluster": {"enabled": True, "replicas": 3},
            "jetstream": {
                "enabled": True,
                "fileStore": {"enabled": True, "pvc": {"enabled": True, "size": "20Gi"}},
                "memoryStore": {"enabled": True, "maxSize": "1Gi"},
            },
            "monitor": {"enabled": True},
            # No anonymous access: only the users of rcp.nats_access, each held to its row.
            "merge": {"authorization": nats_access.authorization(passwords, users)},
        },
        "container": {
            "env": {
                password_variable(row.name): {
                    "valueFrom": {"secretKeyRef": {"name": SECRET, "key": row.name}}
                }
                for row in users
            }
        },
        "podTemplate": {
            "topologySpreadConstraints": {
                "kubernetes.io/hostname": {"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}
            }
        },
        "promExporter": {"enabled": True, "podMonitor": {"enabled": True}},
    }


def prod_values() -> dict[str, Any]:
    """What production adds (deploy/helm/nats-values-prod.yaml): TLS for clients and routes,
    with the certificate the prod overlay has cert-manager issue."""
    clients = {"enabled": True, "secretName": TLS_SECRET}
    # Routes between the servers: each shows the same certificate and checks the other's
    # against its CA (clients log in with passwords, not certificates).
    routes = {**clients, "ca": "ca.crt"}
    return {"config": {"nats": {"tls": clients}, "cluster": {"tls": routes}}}


# Docker Compose (deploy/compose/): one server, its configuration a file the NATS container
# mounts. Each user's password is the environment variable `password_variable(user)` of that
# container, set from the .env file `deploy/compose/make-env` writes (never committed).
COMPOSE_STORE = "/data"


def compose_server_config() -> str:
    """deploy/compose/nats-server.conf: JetStream, and the production users of
    `rcp.nats_access` only (no anonymous access); monitoring on loopback, for the
    healthcheck that runs in the container."""
    users = nats_access.production_users()
    # A marker per password, replaced by the bare `$VARIABLE` nats-server reads from its
    # environment (a quoted "$VARIABLE" would be the literal password).
    markers = {row.name: f"@password-of-{row.name}@" for row in users}
    block = json.dumps(nats_access.authorization(markers, users), indent=2)
    for name, marker in markers.items():
        block = block.replace(json.dumps(marker), f"${password_variable(name)}")
    lines = [
        "server_name: receptionist",
        "listen: 0.0.0.0:4222",
        "http: 127.0.0.1:8222",
        "jetstream {",
        f'  store_dir: "{COMPOSE_STORE}"',
        "}",
        f"authorization: {block}",
    ]
    return "\n".join(lines) + "\n"
