"""In production (RCP_ENVIRONMENT=production, the default) every program refuses to start,
with one line per setting and exit status 2, when a secret is missing or left at the local
stack's development value; on a developer's machine the same defaults just work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rcp.settings import DEVELOPMENT_ARI_PASSWORD, CommonSettings, Environment
from rcp_admin.settings import Settings as AdminSettings
from rcp_asterisk import render as asterisk_render
from rcp_devstack.asterisk import TEMPLATES
from rcp_directory.settings import Settings as DirectorySettings
from rcp_media.settings import Settings as MediaSettings
from rcp_stasis.settings import Settings as StasisSettings

BIN = Path(sys.executable).parent
# What a production deployment gives every service (from Secrets), and each its own secrets.
COMMON = {
    "RCP_ENVIRONMENT": "production",
    "RCP_DATABASE_URL": "postgresql://rcp_media:from-a-secret-1@db.example:5432/receptionist",
    "RCP_NATS_PASSWORD": "nats-password-from-a-secret",
}
OWN = {
    "stasis": {"RCP_ARI_PASSWORD": "ari-password-from-a-secret"},
    "directory": {},
    "media": {
        "RCP_MEDIA_URL_SECRET": "media-url-secret-from-a-secret",
        "RCP_MEDIA_BASE_URL": "http://receptionist-media:8090",
    },
    "admin": {"RCP_TOKEN_PEPPER": "token-pepper-from-a-secret"},
}
SETTINGS: dict[str, type[CommonSettings]] = {
    "stasis": StasisSettings,
    "directory": DirectorySettings,
    "media": MediaSettings,
    "admin": AdminSettings,
}
SECRETS = {"RCP_DATABASE_URL", "RCP_NATS_PASSWORD"}


def _run(argv: list[str], env: dict[str, str], nats_dir: Path) -> subprocess.CompletedProcess[str]:
    """A program with only the RCP_* variables given (none of the test run's own)."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("RCP_")}
    return subprocess.run(
        argv,
        env={**clean, "RCP_NATS_CREDENTIALS_DIR": str(nats_dir), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _variables(stderr: str) -> list[str]:
    lines = stderr.strip().splitlines()
    for line in lines:
        assert ": refusing to start in production: RCP_" in line, stderr
    return sorted(line.split("production: ")[1].split(":")[0] for line in lines)


@pytest.mark.parametrize("service", sorted(OWN))
def test_a_service_refuses_every_development_secret_in_production_one_line_each(
    service: str, tmp_path: Path
) -> None:
    result = _run([str(BIN / f"rcp-{service}")], {"RCP_ENVIRONMENT": "production"}, tmp_path)
    assert result.returncode == 2, result.stderr
    assert _variables(result.stderr) == sorted(SECRETS | set(OWN[service])), result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("service", "missing"),
    [
        ("stasis", "RCP_ARI_PASSWORD"),
        ("directory", "RCP_NATS_PASSWORD"),
        ("media", "RCP_MEDIA_URL_SECRET"),
        ("media", "RCP_MEDIA_BASE_URL"),
        ("admin", "RCP_TOKEN_PEPPER"),
        ("admin", "RCP_DATABASE_URL"),
    ],
)
def test_one_missing_production_secret_is_one_clear_line_and_exit_2(
    service: str, missing: str, tmp_path: Path
) -> None:
    env = {**COMMON, **OWN[service]}
    del env[missing]
    result = _run([str(BIN / f"rcp-{service}")], env, tmp_path)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"{service}: refusing to start in production: {missing}: "), line


def test_a_development_database_password_is_refused_whatever_the_rest_of_the_url(
    tmp_path: Path,
) -> None:
    env = {
        **COMMON,
        "RCP_DATABASE_URL": "postgresql://rcp_directory:receptionist-services@db:5432/receptionist",
    }
    result = _run([str(BIN / "rcp-directory")], env, tmp_path)
    assert result.returncode == 2
    assert "RCP_DATABASE_URL: has a password of the local stack" in result.stderr


def test_the_command_line_and_the_migrations_refuse_development_secrets_too(
    tmp_path: Path,
) -> None:
    cli = _run([str(BIN / "receptionist"), "tenant", "list"], {**COMMON}, tmp_path)
    assert cli.returncode == 2, cli.stderr
    [line] = cli.stderr.strip().splitlines()
    assert line.startswith("receptionist: refusing to start in production: RCP_TOKEN_PEPPER")
    migrate = _run(
        [str(BIN / "rcp-migrate"), "current"], {"RCP_ENVIRONMENT": "production"}, tmp_path
    )
    assert migrate.returncode == 2, migrate.stderr
    assert _variables(migrate.stderr) == ["RCP_DATABASE_URL"]


def test_the_asterisk_image_refuses_the_development_ari_password_in_production(
    tmp_path: Path,
) -> None:
    assert asterisk_render.DEVELOPMENT_ARI_PASSWORD == DEVELOPMENT_ARI_PASSWORD
    render = [sys.executable, "-m", "rcp_asterisk", str(TEMPLATES), str(tmp_path)]
    env = {"RCP_ARI_PASSWORD": DEVELOPMENT_ARI_PASSWORD, "RCP_CARRIER_ADDRESSES": "192.0.2.1"}
    refused = _run(render, env, tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "rcp_asterisk: RCP_ARI_PASSWORD: is the development default; production takes it from "
        "a Secret (RCP_ENVIRONMENT=development allows it)"
    ]
    assert not list(tmp_path.glob("*.conf"))
    allowed = _run(render, {**env, "RCP_ENVIRONMENT": "development"}, tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "ari.conf").is_file()


@pytest.mark.parametrize("service", sorted(OWN))
def test_production_settings_from_secrets_have_no_problem_and_development_needs_no_setup(
    service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [key for key in os.environ if key.startswith("RCP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RCP_NATS_CREDENTIALS_DIR", str(tmp_path))
    settings_type = SETTINGS[service]
    assert settings_type(environment=Environment.DEVELOPMENT).production_problems() == []
    assert settings_type().production_problems()  # the defaults are a developer's only
    for name, value in {**COMMON, **OWN[service]}.items():
        monkeypatch.setenv(name, value)
    production = settings_type()
    assert production.environment is Environment.PRODUCTION
    assert production.production_problems() == []
