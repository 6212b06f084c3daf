"""The media service as the admin API uses it (`ports.MediaGateway`): uploads in, audio out,
the audio of deleted prompts forgotten.

Prompts' audio lives in the media service; the admin API hands uploads to it over NATS
and streams audio back from its HTTP server (whose URLs are internal to the cluster).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import aiohttp
from nats.aio.client import Client as NatsClient
from rcp import media_client
from rcp.contracts.media import EnsurePrompt
from rcp.errors import AUDIO_REFUSALS, ErrorCode, RemoteError, ServiceUnavailable

from rcp_admin.errors import ApiError


class NatsMediaGateway:
    """The media service over NATS (uploads, ensure) and HTTP (audio)."""

    def __init__(self, nats: NatsClient, http: aiohttp.ClientSession, scope: str = "") -> None:
        self._nats = nats
        self._http = http
        self._scope = scope

    async def upload(self, tenant_id: UUID, data: bytes, filename: str | None) -> UUID:
        """Store an uploaded file as a new prompt; return its id."""
        try:
            media = await media_client.upload_prompt(
                self._nats, tenant_id, data, filename=filename, scope=self._scope
            )
        except ServiceUnavailable as error:
            raise ApiError(
                ErrorCode.UNAVAILABLE, "the media service does not answer: try again"
            ) from error
        except RemoteError as error:
            if error.code not in AUDIO_REFUSALS:
                raise
            raise ApiError(error.code, error.message, "file") from error
        if media.prompt_id is None:
            raise ApiError(ErrorCode.INTERNAL, "the media service stored no prompt")
        return media.prompt_id

    async def forget(self, tenant_id: UUID, keys: list[str]) -> list[str]:
        """Delete the audio of deleted prompts (content keys); return the keys kept."""
        done = await media_client.forget_audio(self._nats, tenant_id, keys, scope=self._scope)
        return done.kept

    def audio(self, tenant_id: UUID, prompt_id: UUID) -> AsyncIterator[bytes]:
        """A prompt's audio (8 kHz WAV), rendered first if needed, in chunks."""
        return self._stream(EnsurePrompt(tenant_id=tenant_id, prompt_id=prompt_id))

    def speech(self, tenant_id: UUID, text: str, language: str) -> AsyncIterator[bytes]:
        """Text spoken in a language (8 kHz WAV), as callers hear it, in chunks."""
        return self._stream(EnsurePrompt(tenant_id=tenant_id, text=text, language=language))

    async def _stream(self, ask: EnsurePrompt) -> AsyncIterator[bytes]:
        try:
            media = await media_client.ensure_prompt(self._nats, ask, scope=self._scope)
        except ServiceUnavailable as error:
            raise ApiError(
                ErrorCode.UNAVAILABLE, "the media service does not answer: try again"
            ) from error
        except RemoteError as error:
            if error.code == ErrorCode.NOT_FOUND:
                raise ApiError(
                    ErrorCode.NOT_FOUND, "this prompt has no audio", "prompt_id"
                ) from error
            raise ApiError(error.code, error.message) from error
        async with self._http.get(media.uri) as response:
            if response.status != 200:  # noqa: PLR2004
                raise ApiError(
                    ErrorCode.UNAVAILABLE, f"the media service answered {response.status}"
                )
            async for chunk in response.content.iter_chunked(64 * 1024):
                yield chunk
