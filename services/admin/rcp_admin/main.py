"""Command line entry point of the admin service."""

from __future__ import annotations

from rcp.runtime import run_service

from rcp_admin.app import serve
from rcp_admin.settings import Settings


def main() -> None:
    """Run the admin service until SIGTERM or SIGINT."""
    run_service(Settings, serve)


if __name__ == "__main__":
    main()
