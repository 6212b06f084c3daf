"""A schema-driven fuzzer (schemathesis) against /openapi.json: no 5xx, no answer off-schema."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import schemathesis
from admin_support import carrier_token
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rcp_admin.openapi import openapi_document
from rcp_admin.settings import Settings as AdminSettings
from roles_support import service_url
from schema_support import insert_device
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.openapi.from_dict(openapi_document())
# The export archive's body: bytes, mostly not a zip (400 malformed_archive).
schemathesis.openapi.media_type("application/zip", st.binary(max_size=512))


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    tenant_id: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _prepare(url: str, pepper: str) -> tuple[str, str]:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        token = await carrier_token(pool, pepper)
        tenant_id = await pool.fetchval(
            "INSERT INTO tenants (slug, name) VALUES ('fuzz-' || substr(md5(random()::text), 1, 8), 'Fuzz') RETURNING id"
        )
        await pool.execute("INSERT INTO receptionists (tenant_id) VALUES ($1)", tenant_id)
        device = await insert_device(pool, tenant_id, "desk")
        await pool.execute(
            """INSERT INTO extensions (tenant_id, number, kind, last_name, device_id)
               VALUES ($1, '101', 'physical', 'Dupont', $2)""",
            tenant_id,
            device,
        )
    finally:
        await pool.close()
    return token, str(tenant_id)


@pytest.fixture(scope="module")
def server(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real rcp-admin process on the session's database."""
    port = _free_port()
    pepper = AdminSettings().token_pepper
    token, tenant_id = asyncio.run(_prepare(migrated_url, pepper))
    folder = tmp_path_factory.mktemp("admin")
    log = folder / "admin.log"
    scope = f"fuzz{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "RCP_DATABASE_URL": migrated_url,
        "RCP_OPS_PORT": "0",
        "RCP_LOG_LEVEL": "WARNING",
        "RCP_MEDIA_NATS_SCOPE": scope,
    }
    admin_env = {
        **env,
        "RCP_DATABASE_URL": service_url(migrated_url, "admin"),
        "RCP_ADMIN_HTTP_PORT": str(port),
        "RCP_ADMIN_RATE_PER_S": "10000",
        "RCP_ADMIN_RATE_BURST": "100000",
    }
    # The real media service behind the uploads and audio, on subjects of its own.
    media_ops = _free_port()
    media_env = {
        **env,
        "RCP_DATABASE_URL": service_url(migrated_url, "media"),
        "RCP_OPS_PORT": str(media_ops),
        "RCP_MEDIA_HTTP_PORT": "0",
        "RCP_MEDIA_DIR": str(folder / "media"),
        "RCP_MEDIA_URL_SECRET": "fuzz-media-url-secret-0123456789",
    }
    binaries = Path(sys.executable).parent
    with log.open("wb") as output:
        media = subprocess.Popen(
            [str(binaries / "rcp-media")], env=media_env, stdout=output, stderr=subprocess.STDOUT
        )
        process = subprocess.Popen(
            [str(binaries / "rcp-admin")], env=admin_env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for probe in (f"{url}/openapi.json", f"http://127.0.0.1:{media_ops}/readyz"):
            for _ in range(300):
                try:
                    with urllib.request.urlopen(probe, timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                pytest.fail(f"{probe} did not answer: {log.read_text(errors='replace')}")
        yield Server(url, token, tenant_id)
    finally:
        for running in (process, media):
            running.terminate()
            running.wait(timeout=30)
    logged = log.read_text(errors="replace")
    assert "Traceback" not in logged, logged


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_fuzzed_requests_get_no_5xx_and_answers_match_the_schema(
    case: schemathesis.Case[Any], server: Server
) -> None:
    if "tenant_id" in (case.path_parameters or {}):
        # Aim at a real tenant so that requests reach past the 404 of an unknown one.
        case.path_parameters["tenant_id"] = server.tenant_id
    if "number" in (case.path_parameters or {}):
        case.path_parameters["number"] = "101"  # the fuzz tenant's extension
    case.call_and_validate(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.token}"},
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
            content_type_conformance,
        ],
    )


def test_openapi_document_is_served_and_describes_every_route(server: Server) -> None:
    with urllib.request.urlopen(f"{server.url}/openapi.json", timeout=5) as response:
        document = response.read().decode()
    assert '"openapi":"3.1.0"' in document.replace(" ", "")
    for path in (
        "/v1/tenants/{tenant_id}/receptionist/keys/{digit}",
        "/v1/tenants/{tenant_id}/export",
    ):
        assert path in document
    with urllib.request.urlopen(f"{server.url}/docs", timeout=5) as response:
        page = response.read().decode()
    assert "Receptionist admin API" in page
    assert "/v1/tenants/{tenant_id}/directory" in page
