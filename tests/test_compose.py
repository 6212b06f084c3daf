"""Docker Compose (deploy/compose/), checked offline: this machine has no Docker engine, so
the tests read compose.yaml and run what can run without one: the generated NATS
configuration on the real nats-server binary, with the passwords `make-env` writes. Each
service logs in to NATS as its own user of `rcp.nats_access`, NATS lets no anonymous client
in, and no secret is written in the repository."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import yaml
from nats.aio.client import Client as NatsClient
from rcp import nats_access, subjects
from rcp.messaging import reached_server
from rcp.settings import (
    DEVELOPMENT_ARI_PASSWORD,
    DEVELOPMENT_DATABASE_PASSWORDS,
    DEVELOPMENT_TOKEN_PEPPER,
    CommonSettings,
    Environment,
)
from rcp_admin.settings import CliSettings
from rcp_admin.settings import Settings as AdminSettings
from rcp_devstack.processes import free_port, wait_until
from rcp_devstack.settings import REPO_ROOT
from rcp_directory.settings import Settings as DirectorySettings
from rcp_media.settings import Settings as MediaSettings
from rcp_ops import nats_values
from rcp_stasis.records_app import Settings as CallRecordsSettings
from rcp_stasis.settings import Settings as StasisSettings

COMPOSE_DIR = REPO_ROOT / "deploy" / "compose"
MAKE_ENV = COMPOSE_DIR / "make-env"
NATS_CONF = COMPOSE_DIR / "nats-server.conf"
REQUIRED = re.compile(r"^\$\{([A-Z][A-Z0-9_]*):\?[^}]+\}$")
# Each service that speaks to NATS, and the user it must log in as.
NATS_USERS = {
    "stasis": "stasis",
    "call-records": "stasis",  # it writes what stasis publishes, as stasis
    "directory": "directory",
    "media": "media",
    "admin": "admin",
    "retention": "retention",
}
# What needs no NATS: the servers themselves, the migrations, the roles' passwords.
NO_NATS = {"postgres", "nats", "asterisk", "migrate", "roles"}
# The `roles` step's variables: each service role's database password.
ROLE_PASSWORDS = {"ADMIN", "STASIS", "DIRECTORY", "MEDIA"}
# Required variables that are not secrets: the operator sets them.
OPERATORS = {"RCP_CARRIER_ADDRESSES"}


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
    return document


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def environment(service: str) -> dict[str, str]:
    env: dict[str, str] = services()[service].get("environment", {})
    return env


def required_variable(value: str) -> str:
    """The variable of a `${NAME:?message}` value (compose refuses to start without it)."""
    found = REQUIRED.match(value)
    assert found is not None, f"{value!r} is not a required variable"
    return found.group(1)


def make_env(env_file: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MAKE_ENV), "--env-file", str(env_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def read_env(env_file: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in env_file.read_text().splitlines() if line)
    return {name: value for name, _, value in pairs}


def test_each_service_logs_in_to_nats_as_its_own_user_with_its_password_from_the_env_file() -> None:
    with_user = {name for name in services() if "RCP_NATS_USER" in environment(name)}
    assert with_user == set(NATS_USERS)
    assert set(services()) == set(NATS_USERS) | NO_NATS, "a new service: give it a NATS user"
    production = {row.name for row in nats_access.production_users()}
    for service, user in NATS_USERS.items():
        env = environment(service)
        assert env["RCP_NATS_USER"] == user, service
        assert user in production, service
        assert env["RCP_NATS_URL"] == "nats://nats:4222", service
        password = required_variable(env["RCP_NATS_PASSWORD"])
        assert password == nats_values.password_variable(user), service


def test_the_nats_server_reads_the_generated_configuration_and_each_users_password() -> None:
    nats_service = services()["nats"]
    assert nats_service["command"] == ["-c", "/etc/nats/nats-server.conf"]
    assert "./nats-server.conf:/etc/nats/nats-server.conf:ro" in nats_service["volumes"]
    variables = {
        name: required_variable(value) for name, value in nats_service["environment"].items()
    }
    expected = [nats_values.password_variable(row.name) for row in nats_access.production_users()]
    assert sorted(variables) == sorted(expected)
    assert all(name == variable for name, variable in variables.items())
    # The committed file is what the table makes (rcp-ops-generate writes it).
    assert NATS_CONF.read_text().endswith(nats_values.compose_server_config())


def test_compose_runs_in_production_and_holds_no_secret_of_its_own() -> None:
    for service in services():
        env = environment(service)
        if "RCP_DATABASE_URL" in env:  # a Receptionist process: it refuses development secrets
            assert env["RCP_ENVIRONMENT"] == "production", service
        for name, value in env.items():
            if re.search("PASSWORD|SECRET|PEPPER", name) or name in ROLE_PASSWORDS:
                required_variable(value)
    # The tables' owner's password appears only inside URLs as a required variable too.
    text = (COMPOSE_DIR / "compose.yaml").read_text()
    assert re.findall(r"postgresql://[a-z_]+:([^@]*)@", text) == [
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    ]
    assert "deploy/compose/.env" in (REPO_ROOT / ".gitignore").read_text().split()


# Each Receptionist process of compose.yaml: the settings its command reads.
SETTINGS: dict[str, type[CommonSettings]] = {
    "rcp-stasis": StasisSettings,
    "rcp-call-records": CallRecordsSettings,
    "rcp-directory": DirectorySettings,
    "rcp-media": MediaSettings,
    "rcp-admin": AdminSettings,
    "receptionist": CliSettings,
}


def _only_given(cls: type[CommonSettings], settings_cls: Any, /, **sources: Any) -> tuple[Any, ...]:
    return (sources["init_settings"],)


def test_every_service_starts_in_production_with_the_env_file_make_env_writes(
    tmp_path: Path,
) -> None:
    """What a service checks before it starts (a missing secret or a development default
    would stop it with exit 2), from its variables in compose.yaml and the .env file alone."""
    env_file = tmp_path / ".env"
    env_file.write_text("RCP_CARRIER_ADDRESSES=192.0.2.0/24\n")
    make_env(env_file)
    written = read_env(env_file)
    started = []
    for name, service in services().items():
        command = service.get("command", [""])[0]
        if command not in SETTINGS:
            continue
        given = {
            variable.removeprefix("RCP_").lower(): re.sub(
                r"\$\{([A-Z0-9_]+):\?[^}]+\}", lambda m: written[m.group(1)], value
            )
            for variable, value in environment(name).items()
            if variable.startswith("RCP_")
        }
        isolated = type(
            "FromCompose",
            (SETTINGS[command],),
            {"settings_customise_sources": classmethod(_only_given)},
        )
        settings = isolated(**given)
        assert settings.environment is Environment.PRODUCTION, name
        assert settings.production_problems() == [], name
        assert settings.effective_nats_user == NATS_USERS[name], name
        started.append(name)
    assert sorted(started) == sorted(NATS_USERS)


def test_make_env_writes_a_random_value_for_every_secret_compose_requires_and_keeps_them(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RCP_CARRIER_ADDRESSES=192.0.2.0/24\nRCP_TOKEN_PEPPER=chosen-by-me\n")
    first = make_env(env_file)
    written = read_env(env_file)
    wanted = set(
        re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", (COMPOSE_DIR / "compose.yaml").read_text())
    )
    assert set(written) == wanted
    assert written["RCP_CARRIER_ADDRESSES"] == "192.0.2.0/24"
    assert written["RCP_TOKEN_PEPPER"] == "chosen-by-me"
    made = {
        name: value
        for name, value in written.items()
        if name not in {*OPERATORS, "RCP_TOKEN_PEPPER"}
    }
    assert set(made) >= {
        nats_values.password_variable(row.name) for row in nats_access.production_users()
    }
    assert all(len(value) >= 40 for value in made.values()), made
    assert len(set(made.values())) == len(made), "two secrets alike"
    development = {
        DEVELOPMENT_ARI_PASSWORD,
        DEVELOPMENT_TOKEN_PEPPER,
        *DEVELOPMENT_DATABASE_PASSWORDS,
    }
    assert not development & set(made.values())
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert f"{len(made)} secret(s) added" in first.stdout
    again = make_env(env_file)
    assert read_env(env_file) == written
    assert "0 secret(s) added" in again.stdout


def nats_reads_config(
    tmp_path: Path, passwords: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """nats-server's own check (`-t`) of the committed configuration with these passwords."""
    config = NATS_CONF.read_text().replace(
        f'store_dir: "{nats_values.COMPOSE_STORE}"', f'store_dir: "{tmp_path / "store"}"'
    )
    (tmp_path / "checked.conf").write_text(config)
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "nats-server"),
            "-t",
            "-c",
            str(tmp_path / "checked.conf"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=passwords,
        check=False,
    )


def test_make_env_secrets_begin_with_a_letter_which_nats_server_needs_to_read_them(
    tmp_path: Path,
) -> None:
    made: list[str] = []
    for run in range(20):
        env_file = tmp_path / f"{run}.env"
        make_env(env_file)
        made += [v for k, v in read_env(env_file).items() if k not in OPERATORS]
    assert len(made) >= 200
    assert all(value[0].isalpha() for value in made), [v for v in made if not v[0].isalpha()]
    # Why: nats-server reads an unquoted variable beginning with a digit or '-' as a number.
    variables = list(services()["nats"]["environment"])
    media = nats_values.password_variable("media")
    letter_first = {name: "a1e5-x_" + name for name in variables}
    assert nats_reads_config(tmp_path, letter_first).returncode == 0
    for misread in ("-DTT1v4328xh4Gd6exF9Pf06", "8-hIrXPCZZqvEDiz3eHiL5j"):  # as make-env made
        refused = nats_reads_config(tmp_path, {**letter_first, media: misread})
        assert refused.returncode != 0, misread
        assert "could not be parsed" in refused.stderr + refused.stdout, misread


def test_make_env_refuses_a_nats_password_beginning_with_a_digit_and_names_it(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RCP_NATS_PASSWORD_MEDIA=-chosen-by-hand\n")
    done = make_env(env_file, check=False)
    assert done.returncode == 1
    assert "RCP_NATS_PASSWORD_MEDIA must begin with a letter" in done.stderr
    assert read_env(env_file)["RCP_NATS_PASSWORD_MEDIA"] == "-chosen-by-hand"  # kept
    assert "secret(s) added" in done.stdout  # the others were still made


def test_make_env_names_what_the_operator_must_still_set(tmp_path: Path) -> None:
    out = make_env(tmp_path / ".env").stdout
    assert [line.split()[2] for line in out.splitlines() if " set " in line] == sorted(OPERATORS)


@contextlib.contextmanager
def compose_nats(tmp_path: Path, passwords: dict[str, str]) -> Iterator[str]:
    """The committed nats-server.conf on the real nats-server, as the NATS container runs it
    (its port and store moved to the test's own), the passwords in its environment."""
    port = free_port()
    config = NATS_CONF.read_text()
    moved = {
        "listen: 0.0.0.0:4222": f"listen: 127.0.0.1:{port}",
        "http: 127.0.0.1:8222": f"http: 127.0.0.1:{free_port()}",
        f'store_dir: "{nats_values.COMPOSE_STORE}"': f'store_dir: "{tmp_path / "store"}"',
    }
    for line, ours in moved.items():
        assert config.count(line) == 1, line
        config = config.replace(line, ours)
    (tmp_path / "nats-server.conf").write_text(config)
    log_file = tmp_path / "nats.log"
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "nats-server"),
                "-c",
                str(tmp_path / "nats-server.conf"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=passwords,
        )
    try:
        wait_until(lambda: b"Server is ready" in log_file.read_bytes(), 30, "NATS", log_file)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _connects(url: str, **login: Any) -> NatsClient | Exception:
    client = NatsClient()
    try:
        await client.connect(url, allow_reconnect=False, connect_timeout=5, **login)
    except Exception as error:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(client.close(), 2)
        return error
    return client


async def test_the_compose_nats_refuses_anonymous_clients_and_lets_each_user_in_held_to_its_row(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    make_env(env_file)
    written = read_env(env_file)
    passwords = {variable: written[variable] for variable in services()["nats"]["environment"]}
    with compose_nats(tmp_path, passwords) as url:
        anonymous = await _connects(url)
        assert isinstance(anonymous, nats.errors.Error)
        assert "Authorization Violation" in str(anonymous)
        wrong = await _connects(url, user="stasis", password="not-its-password")
        assert isinstance(wrong, nats.errors.Error)
        for service, user in NATS_USERS.items():
            password = written[required_variable(environment(service)["RCP_NATS_PASSWORD"])]
            client = await _connects(
                url,
                user=user,
                password=password,
                inbox_prefix=nats_access.inbox_prefix(user).encode(),
            )
            assert isinstance(client, NatsClient), (service, client)
            await reached_server(client)
            await client.close()
        violations: list[str] = []

        async def collect(error: Exception) -> None:
            violations.append(str(error).lower())

        directory = await nats.connect(
            url,
            user="directory",
            password=written[nats_values.password_variable("directory")],
            inbox_prefix=nats_access.inbox_prefix("directory").encode(),
            allow_reconnect=False,
            error_cb=collect,
        )
        try:
            event = subjects.call_event(uuid.uuid4(), "started")
            await directory.publish(event, b"{}")
            await reached_server(directory)
        finally:
            await directory.close()
        assert violations == [f'nats: permissions violation for publish to "{event.lower()}"']
