"""Command line entry point of the directory service."""

from __future__ import annotations

from rcp.runtime import run_service

from rcp_directory.app import serve
from rcp_directory.settings import Settings


def main() -> None:
    """Run the directory service until SIGTERM or SIGINT."""
    run_service(Settings, serve)


if __name__ == "__main__":
    main()
