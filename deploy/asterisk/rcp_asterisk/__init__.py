"""Asterisk's configuration, rendered in one place from the templates of deploy/asterisk/.

The local stack (`rcp-stack`), the Asterisk image's entrypoint (Docker Compose, Kubernetes)
and the tests all render through `render_folder`, so that a setting (the carrier's addresses
above all) means the same everywhere. Standard library only: the image runs it with Debian's
python3 (`python3 -m rcp_asterisk TEMPLATES OUT`, values from RCP_* variables).
"""

from rcp_asterisk.render import (
    AsteriskValues,
    ConfigError,
    carrier_networks,
    placeholders,
    render_folder,
    render_text,
)

__all__ = [
    "AsteriskValues",
    "ConfigError",
    "carrier_networks",
    "placeholders",
    "render_folder",
    "render_text",
]
