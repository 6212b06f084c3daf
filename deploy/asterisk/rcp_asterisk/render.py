"""Settings to Asterisk configuration: `@{name}` placeholders in deploy/asterisk/*.conf.

Asterisk's own `${VAR}` syntax passes through untouched. Every value is checked first (a
carrier address that is no network, a port out of range, a line break in a value): a bad
setting stops the renderer with a message naming its variable, never a half-written file.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

MAX_CARRIER_NETWORKS = 64
# The local stack's ARI password (rcp.settings.DEVELOPMENT_ARI_PASSWORD: this package uses the
# standard library only): refused unless RCP_ENVIRONMENT=development.
DEVELOPMENT_ARI_PASSWORD = "receptionist-dev"  # noqa: S105 - the development default
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ConfigError(ValueError):
    """A setting that cannot be rendered (the message names its variable)."""


class ConfigTemplate(string.Template):
    """`@{name}` placeholders, so that Asterisk's own `${VAR}` syntax passes through."""

    delimiter = "@"
    pattern = r"@(?:(?P<escaped>@)|\{(?P<braced>[a-z_]+)\}|(?P<named>(?!x)x)|(?P<invalid>(?!x)x))"  # type: ignore[assignment]


def carrier_networks(value: str) -> tuple[str, ...]:
    """The carrier's addresses (RCP_CARRIER_ADDRESSES): CIDRs or addresses separated by commas
    or spaces, IPv4 or IPv6, each normalised (10.0.0.1 -> 10.0.0.1/32)."""
    networks = []
    for item in re.split(r"[,\s]+", value.strip()):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=True)
        except ValueError as error:
            message = f"RCP_CARRIER_ADDRESSES: {item!r} is no address or CIDR ({error})"
            raise ConfigError(message) from None
        if network.prefixlen == 0:
            raise ConfigError(f"RCP_CARRIER_ADDRESSES: {item!r} would admit the whole internet")
        networks.append(str(network))
    if not networks:
        raise ConfigError("RCP_CARRIER_ADDRESSES: at least one address of the carrier is needed")
    if len(networks) > MAX_CARRIER_NETWORKS:
        raise ConfigError(f"RCP_CARRIER_ADDRESSES: at most {MAX_CARRIER_NETWORKS} networks")
    return tuple(dict.fromkeys(networks))


@dataclass(frozen=True)
class AsteriskValues:
    """What the templates are filled with; each field is the variable RCP_<FIELD>, except
    where `ENV` names another."""

    ari_password: str
    ari_user: str = "receptionist"
    ari_app: str = "receptionist"
    asterisk_http_host: str = "127.0.0.1"
    asterisk_http_port: int = 8088
    asterisk_sip_host: str = "127.0.0.1"
    asterisk_sip_port: int = 5060
    asterisk_rtp_start: int = 10000
    asterisk_rtp_end: int = 10199
    # Where outside calls are sent: the carrier's SIP proxy (host or host:port).
    carrier_host: str = "127.0.0.1"
    # The only addresses SIP is accepted from (the ACL) and calls are identified by.
    carrier_addresses: tuple[str, ...] = ("127.0.0.1/32",)
    fallback_dial: str = ""
    # The local stack's dialplan only (deploy/local/asterisk/): the tests' phones app.
    test_phones_app: str = "test-phones"

    def __post_init__(self) -> None:
        for name in ("ari_user", "ari_app", "test_phones_app"):
            if not _NAME.match(getattr(self, name)):
                raise ConfigError(f"RCP_{name.upper()}: letters, digits, _ and - only")
        for name in ("asterisk_http_port", "asterisk_sip_port", "asterisk_rtp_start"):
            if not 1 <= getattr(self, name) <= 65535:  # noqa: PLR2004 - the port range
                raise ConfigError(f"RCP_{name.upper()}: a port number, 1-65535")
        if not self.asterisk_rtp_start <= self.asterisk_rtp_end <= 65535:  # noqa: PLR2004
            raise ConfigError("RCP_ASTERISK_RTP_END: from RCP_ASTERISK_RTP_START to 65535")
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, str) and re.search(r"[\r\n;]", value):
                raise ConfigError(f"RCP_{field.name.upper()}: no line breaks or ';' in a value")
        carrier_networks(",".join(self.carrier_addresses))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AsteriskValues:
        """The values from RCP_* environment variables (the defaults where unset); the
        development ARI password only with RCP_ENVIRONMENT=development."""
        given: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(f"RCP_{field.name.upper()}")
            if raw is None or (
                raw == "" and field.name not in ("fallback_dial", "carrier_addresses")
            ):
                continue
            if field.name == "carrier_addresses":
                given[field.name] = carrier_networks(raw)
            elif field.type == "int":
                try:
                    given[field.name] = int(raw)
                except ValueError:
                    raise ConfigError(f"RCP_{field.name.upper()}: {raw!r} is no number") from None
            else:
                given[field.name] = raw
        if "ari_password" not in given:
            raise ConfigError("RCP_ARI_PASSWORD: set the ARI password")
        development = env.get("RCP_ENVIRONMENT", "production") == "development"
        if given["ari_password"] == DEVELOPMENT_ARI_PASSWORD and not development:
            raise ConfigError(
                "RCP_ARI_PASSWORD: is the development default; production takes it from a "
                "Secret (RCP_ENVIRONMENT=development allows it)"
            )
        return cls(**given)  # type: ignore[arg-type]


def placeholders(values: AsteriskValues) -> dict[str, str]:
    """Each `@{name}` of the templates and its text."""
    networks = carrier_networks(",".join(values.carrier_addresses))
    return {
        "http_host": values.asterisk_http_host,
        "http_port": str(values.asterisk_http_port),
        "ari_user": values.ari_user,
        "ari_password": values.ari_password,
        "app": values.ari_app,
        "test_phones_app": values.test_phones_app,
        "sip_host": values.asterisk_sip_host,
        "sip_port": str(values.asterisk_sip_port),
        "carrier_host": values.carrier_host,
        # One line per network: the identify section matches them, the ACL admits them.
        "carrier_match": "\n".join(f"match = {network}" for network in networks),
        "carrier_permit": "\n".join(f"permit = {network}" for network in networks),
        "rtp_start": str(values.asterisk_rtp_start),
        "rtp_end": str(values.asterisk_rtp_end),
        "fallback_dial": values.fallback_dial,
    }


def render_text(template: str, values: AsteriskValues) -> str:
    """One template, filled."""
    return ConfigTemplate(template).substitute(placeholders(values))


def rendered_files(
    templates: Path, values: AsteriskValues, dialplan_additions: Iterable[Path] = ()
) -> dict[str, str]:
    """Every template of `templates`, filled; each of `dialplan_additions` (the local stack's
    test contexts) is appended to extensions.conf."""
    files = {path.name: render_text(path.read_text(), values) for path in templates.glob("*.conf")}
    for addition in dialplan_additions:
        files["extensions.conf"] += "\n" + render_text(addition.read_text(), values)
    return dict(sorted(files.items()))


def render_folder(
    templates: Path, out: Path, values: AsteriskValues, dialplan_additions: Iterable[Path] = ()
) -> list[str]:
    """Write the filled templates into `out`; return the names of the files that changed."""
    changed = []
    for name, text in rendered_files(templates, values, dialplan_additions).items():
        target = out / name
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            changed.append(name)
    return changed
