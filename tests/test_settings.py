"""Settings are validated at load, frozen, and every value can be overridden by environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest
from rcp.runtime import public_settings
from rcp.settings import DEFAULT_DATABASE_URL, CommonSettings, Environment, LogFormat
from rcp_admin.settings import Settings as AdminSettings
from rcp_stasis.settings import Settings as StasisSettings


def test_defaults_point_at_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RCP_DATABASE_URL", "RCP_NATS_URL", "RCP_OPS_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = StasisSettings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.nats_servers == ["nats://127.0.0.1:4222"]
    assert settings.ari_url == "http://127.0.0.1:8088"
    assert settings.effective_ops_port == 9101


def test_environment_overrides_each_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCP_DATABASE_URL", "postgresql://u:p@db.internal:5432/rcp")
    monkeypatch.setenv("RCP_NATS_URL", "nats://a:4222, nats://b:4222")
    monkeypatch.setenv("RCP_LOG_FORMAT", "console")
    monkeypatch.setenv("RCP_OPS_PORT", "9999")
    monkeypatch.setenv("RCP_ARI_URL", "http://asterisk:8088/")
    settings = StasisSettings()
    assert settings.database_url == "postgresql://u:p@db.internal:5432/rcp"
    assert settings.nats_servers == ["nats://a:4222", "nats://b:4222"]
    assert settings.log_format is LogFormat.CONSOLE
    assert settings.effective_ops_port == 9999
    assert settings.ari_url == "http://asterisk:8088"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RCP_DATABASE_URL", "mysql://x", "must be a postgresql:// URL"),
        ("RCP_NATS_URL", "http://x:4222", "is not a nats://"),
        ("RCP_OPS_PORT", "70000", "less than or equal to 65535"),
        ("RCP_LOG_LEVEL", "LOUD", "Input should be"),
        ("RCP_DATABASE_POOL_MAX", "0", "greater than or equal to 1"),
    ],
)
def test_invalid_value_is_refused_at_load_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(pydantic.ValidationError, match=message):
        CommonSettings()


def test_settings_are_frozen() -> None:
    settings = AdminSettings()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        settings.nats_url = "nats://elsewhere:4222"


def test_short_token_pepper_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCP_TOKEN_PEPPER", "short")
    with pytest.raises(pydantic.ValidationError, match="at least 16 characters"):
        AdminSettings()


def test_service_with_a_bad_setting_exits_2_naming_the_variable() -> None:
    binary = Path(sys.executable).parent / "rcp-directory"
    result = subprocess.run(
        [str(binary)],
        env={**os.environ, "RCP_OPS_PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "directory: RCP_OPS_PORT: Input should be a valid integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_logged_settings_mask_secrets_and_url_passwords_only() -> None:
    shown = public_settings(
        AdminSettings(
            database_url="postgresql://rcp:s3cret@db:5432/rcp", token_pepper="a-pepper-of-sixteen+"
        )
    )
    assert shown["database_url"] == "postgresql://rcp:***@db:5432/rcp"
    assert shown["token_pepper"] == "***"
    assert shown["nats_url"] == "nats://127.0.0.1:4222"


def test_test_phones_are_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RCP_ENVIRONMENT", "RCP_ALLOW_TEST_PHONES"):
        monkeypatch.delenv(name, raising=False)
    assert CommonSettings().environment is Environment.PRODUCTION  # the default
    with pytest.raises(pydantic.ValidationError, match="RCP_ALLOW_TEST_PHONES is for development"):
        CommonSettings(allow_test_phones=True)
    assert CommonSettings(environment=Environment.DEVELOPMENT, allow_test_phones=True)


def test_a_local_channel_trunk_needs_the_development_setting() -> None:
    local = "Local/phones~trunk.{number}@test-apps/n"
    with pytest.raises(pydantic.ValidationError, match="a Local channel trunk"):
        StasisSettings(stasis_trunk_dial_template=local)
    allowed = StasisSettings(
        stasis_trunk_dial_template=local,
        environment=Environment.DEVELOPMENT,
        allow_test_phones=True,
    )
    assert allowed.flow_options().allow_test_phones


def test_a_production_stasis_refuses_to_start_with_test_phones() -> None:
    binary = Path(sys.executable).parent / "rcp-stasis"
    result = subprocess.run(
        [str(binary)],
        env={**os.environ, "RCP_ENVIRONMENT": "production", "RCP_ALLOW_TEST_PHONES": "true"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "RCP_ALLOW_TEST_PHONES is for development only" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_flow_never_rings_the_trunk_as_a_device() -> None:
    options = StasisSettings(stasis_trunk_dial_template="PJSIP/{number}@sbc").flow_options()
    assert options.reserved_endpoints == {"carrier", "sbc"}
