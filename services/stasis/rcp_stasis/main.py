"""Command line entry point of the stasis service."""

from __future__ import annotations

from rcp.runtime import run_service

from rcp_stasis.app import serve
from rcp_stasis.settings import Settings


def main() -> None:
    """Run the stasis service until SIGTERM or SIGINT."""
    run_service(Settings, serve)


if __name__ == "__main__":
    main()
