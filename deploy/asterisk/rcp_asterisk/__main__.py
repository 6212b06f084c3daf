"""`python3 -m rcp_asterisk TEMPLATES OUT`: render the templates with values from RCP_*."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rcp_asterisk.render import AsteriskValues, ConfigError, render_folder


def main(argv: list[str]) -> int:
    """Render every template of TEMPLATES into OUT; a bad setting is a message and exit 2."""
    if len(argv) != 2:  # noqa: PLR2004 - the two folders
        print("usage: python3 -m rcp_asterisk TEMPLATES OUT", file=sys.stderr)  # noqa: T201
        return 2
    try:
        values = AsteriskValues.from_env(os.environ)
    except ConfigError as error:
        print(f"rcp_asterisk: {error}", file=sys.stderr)  # noqa: T201
        return 2
    for name in render_folder(Path(argv[0]), Path(argv[1]), values):
        print(f"rcp_asterisk: wrote {name}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
