"""The Receptionist services as local background processes, each with its ops endpoint."""

from __future__ import annotations

import functools
import json
import os
import sys
import urllib.error
import urllib.request
from http import HTTPStatus
from pathlib import Path

from rcp_stasis.settings import Settings as StasisSettings

from rcp_devstack.processes import read_pid, start_detached, stop_pid, wait_until
from rcp_devstack.roles import role_url
from rcp_devstack.settings import StackSettings

# Beyond the drain grace, what stopping takes: calls ended by the service hang up and publish
# their last steps, NATS drains, pools close.
STOP_MARGIN_S = 30.0

# name -> ops port (the services' defaults; see each service's settings)
ADMIN_API = "http://127.0.0.1:8080"  # rcp-admin's default RCP_ADMIN_HTTP_PORT
SERVICES = {
    "stasis": 9101,
    "call-records": 9105,  # writes stasis's call events into call_records (rcp-call-records)
    "directory": 9102,
    "media": 9103,
    "admin": 9104,
}
# The database role of a service that has none of its own: the call records service writes
# what stasis publishes, as stasis.
DATABASE_ROLE_OF = {"call-records": "stasis"}
# Jobs Kubernetes runs as CronJobs, run here by a process that repeats them: name -> command
# (in the virtual environment's bin) and period; each connects to NATS as the user of its name,
# and to PostgreSQL as the admin service's role (they are its command line's).
RETENTION_EVERY_S = 3600
SCHEDULED = {
    "retention": ["receptionist", "retention", "apply", "--every", str(RETENTION_EVERY_S)],
}


def scheduled_env(name: str) -> dict[str, str]:
    """Settings a scheduled job gets from the stack unless the environment sets them."""
    wanted = {**DEVELOPMENT, "RCP_NATS_USER": name}
    return {key: value for key, value in wanted.items() if key not in os.environ}


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == HTTPStatus.OK)
    except (urllib.error.URLError, OSError):
        return False


def readiness(port: int) -> dict[str, str]:
    """A running service's readiness checks, or why it cannot be read."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return dict(json.load(response)["checks"])
    except urllib.error.HTTPError as error:
        return dict(json.load(error)["checks"])
    except (urllib.error.URLError, OSError) as error:
        return {"ops endpoint": str(error)}


# The local stack is a developer's: its extensions ring the test-phones context's phones.
DEVELOPMENT = {"RCP_ENVIRONMENT": "development", "RCP_ALLOW_TEST_PHONES": "true"}


def service_env(name: str, settings: StackSettings) -> dict[str, str]:
    """Settings one service gets from the stack unless the environment sets them, and its
    own database role's URL (RCP_DATABASE_URL names the tables' owner: never a service's).
    It connects to NATS as its own user (its default), with the stack's passwords."""
    wanted = {**DEVELOPMENT, **nats_env(settings)}
    if name == "media":
        wanted["RCP_MEDIA_DIR"] = str(settings.state_dir / "media")
    chosen = {key: value for key, value in wanted.items() if key not in os.environ}
    return chosen | database_env(DATABASE_ROLE_OF.get(name, name), settings)


def nats_env(settings: StackSettings) -> dict[str, str]:
    """Where every process of the stack finds its NATS user's password."""
    wanted = {"RCP_NATS_CREDENTIALS_DIR": str(settings.nats_credentials_dir)}
    return {key: value for key, value in wanted.items() if key not in os.environ}


def database_env(service: str, settings: StackSettings) -> dict[str, str]:
    """RCP_DATABASE_URL for a service's own role on the stack's database."""
    password = settings.database_services_password
    return {"RCP_DATABASE_URL": role_url(settings.database_url, service, password)}


def stop_timeout_s() -> float:
    """How long a service is given to stop (SIGTERM) before it is killed: at least the
    stasis service's drain grace, so that calls under way are not cut by the stack itself."""
    return float(StasisSettings().stasis_drain_grace_s) + STOP_MARGIN_S


def start_services(settings: StackSettings) -> list[str]:
    """(Re)start every service so that it runs the code of this checkout; wait until ready."""
    lines = []
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "RCP_LOG_FORMAT": os.environ.get("RCP_LOG_FORMAT", "json")}
    for name, port in SERVICES.items():
        pid_file = settings.run_dir / f"{name}.pid"
        log_file = settings.run_dir / f"{name}.log"
        old = read_pid(pid_file)
        if old is not None:
            stop_pid(old, stop_timeout_s())
        start_detached(
            [str(bin_dir / f"rcp-{name}")],
            pid_file,
            log_file,
            env={**env, **service_env(name, settings), "RCP_OPS_PORT": str(port)},
        )
        wait_until(functools.partial(_ready, port), 60, f"the {name} service", log_file)
        lines.append(
            f"{name}: ready, ops on http://127.0.0.1:{port} (/metrics /healthz /readyz)"
            f", log {log_file}"
        )
    for name, command in SCHEDULED.items():
        pid_file = settings.run_dir / f"{name}.pid"
        log_file = settings.run_dir / f"{name}.log"
        old = read_pid(pid_file)
        if old is not None:
            stop_pid(old, STOP_MARGIN_S)
        start_detached(
            [str(bin_dir / command[0]), *command[1:]],
            pid_file,
            log_file,
            env={
                **env,
                **scheduled_env(name),
                **nats_env(settings),
                **database_env("admin", settings),
            },
        )
        lines.append(f"{name}: every {command[-1]} s ({' '.join(command)}), log {log_file}")
    return lines


def stop_services(settings: StackSettings) -> list[str]:
    """Stop every service this stack started."""
    lines = []
    for name in [*SCHEDULED, *SERVICES]:
        pid_file = settings.run_dir / f"{name}.pid"
        pid = read_pid(pid_file)
        if pid is not None:
            stop_pid(pid, stop_timeout_s())
            lines.append(f"{name}: stopped")
        pid_file.unlink(missing_ok=True)
    return lines
