"""The media service's settings: defaults for the local stack, validated overrides."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from rcp_devstack.services import DEVELOPMENT, service_env
from rcp_devstack.settings import StackSettings
from rcp_media.settings import MIB, Settings


def test_defaults_serve_on_localhost_with_the_issue_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RCP_MEDIA_HTTP_PORT", "RCP_MEDIA_BASE_URL", "RCP_OPS_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.effective_ops_port == 9103
    assert (settings.media_http_host, settings.media_http_port) == ("127.0.0.1", 9113)
    assert settings.base_url(9113) == "http://127.0.0.1:9113"
    assert settings.media_upload_max_bytes == 20 * MIB
    assert settings.media_upload_max_s == 600
    assert settings.media_tts_engine == "espeak-ng"


def test_base_url_setting_wins_over_the_bound_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCP_MEDIA_BASE_URL", "http://media.receptionist.svc:9113/")
    assert Settings().base_url(0) == "http://media.receptionist.svc:9113"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RCP_MEDIA_BASE_URL", "ftp://media", "must be an http:// or https:// URL"),
        ("RCP_MEDIA_URL_SECRET", "short", "at least 16 characters"),
        ("RCP_MEDIA_NATS_SCOPE", "a.b", "should match pattern"),
        ("RCP_MEDIA_CACHE_MAX_BYTES", "1000", "greater than or equal to 1048576"),
        ("RCP_MEDIA_RENDER_CONCURRENCY", "0", "greater than or equal to 1"),
        ("RCP_MEDIA_TTS_TIMEOUT_S", "0", "greater than 0"),
        ("RCP_MEDIA_TTS_TIMEOUT_S", "601", "less than or equal to 600"),
    ],
)
def test_invalid_media_setting_is_refused_at_load(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(pydantic.ValidationError, match=message):
        Settings()


def test_local_stack_keeps_media_files_under_its_state_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [*DEVELOPMENT, "RCP_MEDIA_DIR", "RCP_NATS_CREDENTIALS_DIR", "RCP_NATS_USER"]:
        monkeypatch.delenv(name, raising=False)
    stack = StackSettings(state_dir=tmp_path)
    everyone = {**DEVELOPMENT, "RCP_NATS_CREDENTIALS_DIR": str(stack.nats_credentials_dir)}

    def env(service: str) -> dict[str, str]:
        return {k: v for k, v in service_env(service, stack).items() if k != "RCP_DATABASE_URL"}

    assert env("media") == {**everyone, "RCP_MEDIA_DIR": str(tmp_path / "media")}
    assert env("stasis") == everyone
    monkeypatch.setenv("RCP_MEDIA_DIR", "/srv/media")
    assert env("media") == everyone


def test_media_files_default_to_the_state_folder_named_by_rcp_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RCP_MEDIA_DIR", raising=False)
    monkeypatch.setenv("RCP_STATE_DIR", str(tmp_path / "state"))
    assert Settings().media_dir == tmp_path / "state" / "media"
