"""Settings of the local stack (environment variables RCP_*)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from rcp.settings import AriSettings, TokenSettings, local_state_dir

REPO_ROOT = Path(__file__).resolve().parents[3]


class StackSettings(AriSettings, TokenSettings):
    """Where the local stack keeps its state and which ports its pieces use."""

    service_name: ClassVar[str] = "stack"
    default_nats_user: ClassVar[str] = "stack"

    state_dir: Path = Field(default_factory=local_state_dir)
    asterisk_root: Path | None = Field(
        default=None,
        description="The Debian sid root Asterisk runs in (default: STATE/asterisk-root).",
    )
    asterisk_suite: str = Field(default="sid", pattern=r"^[a-z]+$")
    asterisk_sip_port: int = Field(default=5060, ge=1, le=65535)
    asterisk_rtp_start: int = Field(default=10000, ge=1024, le=65535)
    asterisk_rtp_end: int = Field(default=10199, ge=1024, le=65535)
    test_phones_app: str = Field(default="test-phones", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    carrier_host: str = Field(
        default="127.0.0.1",
        pattern=r"^[A-Za-z0-9.:\[\]-]{1,255}$",
        description="The carrier's SIP proxy: where outside calls are sent.",
    )
    carrier_addresses: str = Field(
        default="127.0.0.1/32",
        description="The only addresses SIP is accepted from (CIDRs, comma-separated): the "
        "carrier's; calls from them enter from-carrier, anything else is refused.",
    )
    fallback_dial: str = Field(
        default="",
        pattern=r"^([A-Za-z][A-Za-z0-9]*/[A-Za-z0-9_@.:+~&/;#=*-]{1,200})?$",
        description="Where Asterisk sends callers while no stasis service takes them (an "
        "Asterisk dial string such as PJSIP/0612345678@carrier); empty: refuse with cause 34.",
    )
    database_services_password: str = Field(
        default="receptionist-services",
        min_length=8,
        description="Development only: the password the stack gives the services' database "
        "roles (rcp_admin, rcp_stasis, rcp_directory, rcp_media); RCP_DATABASE_URL's user "
        "owns the tables and migrates.",
    )
    nats_monitor_port: int = Field(default=8222, ge=1, le=65535)

    @property
    def asterisk_dir(self) -> Path:
        """The Asterisk root folder."""
        return self.asterisk_root or self.state_dir / "asterisk-root"

    @property
    def run_dir(self) -> Path:
        """Pid files and logs."""
        return self.state_dir / "run"
