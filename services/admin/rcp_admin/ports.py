"""What the admin service needs of the world, as Protocols; the adapters stand beside them.

- `MediaGateway`: the media service (uploads in, playable audio out, deleted audio forgotten);
  adapter
  `rcp_admin.media.NatsMediaGateway`.
- `ConfigPublisher`: tells the other services that a tenant's configuration changed; adapter
  `rcp.config_events.NatsConfigPublisher`, shared with every publisher of such events.
- `Mailer`: sends an email (invitations, password resets); adapter the SMTP sender of
  `rcp.mail`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Protocol
from uuid import UUID

from rcp.config_events import ConfigPublisher

__all__ = ["ConfigPublisher", "Mailer", "MediaGateway"]


class MediaGateway(Protocol):
    """What the admin API needs of the media service."""

    async def upload(self, tenant_id: UUID, data: bytes, filename: str | None) -> UUID:
        """Store an uploaded file as a new prompt; return its id."""

    def audio(self, tenant_id: UUID, prompt_id: UUID) -> AsyncIterator[bytes]:
        """A prompt's audio (8 kHz WAV), rendered first if needed, in chunks."""

    def speech(self, tenant_id: UUID, text: str, language: str) -> AsyncIterator[bytes]:
        """Text spoken in a language (8 kHz WAV), as callers hear it, in chunks."""

    async def forget(self, tenant_id: UUID, keys: list[str]) -> list[str]:
        """Delete the audio of deleted prompts (content keys); return the keys kept."""


class Mailer(Protocol):
    """What the admin API needs to send people email."""

    async def send(self, message: EmailMessage) -> None:
        """Hand one message to the relay; raise if it did not take it."""
