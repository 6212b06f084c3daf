"""Command line entry point of the media service."""

from __future__ import annotations

from rcp.runtime import run_service

from rcp_media.app import serve
from rcp_media.settings import Settings


def main() -> None:
    """Run the media service until SIGTERM or SIGINT."""
    run_service(Settings, serve)


if __name__ == "__main__":
    main()
