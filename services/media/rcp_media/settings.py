"""Settings of the media service (environment variables RCP_*)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator
from rcp.mail import SmtpSettings
from rcp.settings import MediaScopeSettings, left_at_development_value, local_state_dir

MIB = 1024 * 1024
DEVELOPMENT_URL_SECRET = "receptionist-dev-media-url-secret"  # noqa: S105 - the default


def _default_media_dir() -> Path:
    # The local stack's convention (README, "Where things run"); a pod mounts a volume instead.
    return local_state_dir() / "media"


class Settings(MediaScopeSettings, SmtpSettings):
    """The media service's settings (its SMTP relay's too: it emails voicemail)."""

    service_name: ClassVar[str] = "media"
    default_nats_user: ClassVar[str] = "media"
    default_ops_port: ClassVar[int] = 9103

    media_http_host: str = Field(default="127.0.0.1")
    """Address of the HTTP server Asterisk fetches prompts from."""

    media_http_port: int = Field(default=9113, ge=0, le=65535)
    """0: any free port."""

    media_base_url: str | None = Field(default=None)
    """The URL Asterisk reaches this service at (default: http://HOST:PORT)."""

    media_dir: Path = Field(default_factory=_default_media_dir)
    """Where audio files live; shared by every instance (a ReadWriteMany volume)."""

    media_cache_max_bytes: int = Field(default=1024 * MIB, ge=MIB)
    """Size bound of the files on disk; least recently used TTS renders go first."""

    media_cache_min_idle_s: float = Field(default=600.0, ge=0)
    """A render used more recently than this is never evicted."""

    media_url_secret: str = Field(default=DEVELOPMENT_URL_SECRET, min_length=16, max_length=256)
    """Key of the URL signatures (a Secret in production)."""

    media_recording_url_ttl_s: int = Field(default=300, ge=10, le=86400)
    """How long the URL of a recording (a voicemail message) works; prompts' URLs never expire
    (Asterisk's cache keeps them)."""

    media_tts_engine: str = Field(default="espeak-ng", pattern=r"^[a-z0-9_.-]{1,32}$")
    media_tts_max_chars: int = Field(default=5000, ge=1, le=65536)
    media_tts_timeout_s: float = Field(default=10.0, gt=0, le=600)
    """Time the TTS engine may take to speak 1000 characters (a shorter text gets as much, a
    longer one proportionally more); past it, its process is killed and the render fails."""

    media_upload_max_bytes: int = Field(default=20 * MIB, ge=1024)
    media_upload_max_s: float = Field(default=600.0, gt=0, le=4 * 3600)
    media_render_concurrency: int = Field(default=2, ge=1, le=64)
    """Renders and transcodes running at once."""

    media_render_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    media_maintenance_interval_s: float = Field(default=60.0, gt=0)
    """How often eviction and clean-up run."""

    media_email_poll_s: float = Field(default=30.0, gt=0, le=3600)
    """How often the voicemail outbox is looked at, besides each new message."""

    media_email_retry_min_s: float = Field(default=30.0, gt=0, le=86400)
    """The first wait before an email is tried again."""

    media_email_retry_max_s: float = Field(default=3600.0, gt=0, le=86400)
    """The longest wait between two tries."""

    media_email_give_up_after_s: float = Field(default=3 * 86400.0, gt=0, le=30 * 86400)
    """A message's email not sent by this age is given up (the message stays)."""

    @field_validator("media_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    def unfit_for_production(self) -> list[str]:
        """The URL secret is the development one, or nobody said where Asterisk reaches the
        service (its own address is a pod's, or a loopback one)."""
        problems = super().unfit_for_production() + left_at_development_value(
            "RCP_MEDIA_URL_SECRET", self.media_url_secret, DEVELOPMENT_URL_SECRET
        )
        if self.media_base_url is None:
            problems.append(
                "RCP_MEDIA_BASE_URL: missing: say where Asterisk reaches this service "
                "(the Service's URL, e.g. http://receptionist-media:8090)"
            )
        return problems

    def base_url(self, bound_port: int) -> str:
        """Where Asterisk fetches from: the setting, or this server's own address."""
        return self.media_base_url or f"http://{self.media_http_host}:{bound_port}"
