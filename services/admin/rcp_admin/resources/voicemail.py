"""Voicemail: the messages callers left, listed, played and deleted by the tenant's admins.

Deleting a message deletes its recording: its prompt row here, its audio file by the media
service once the deletion commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.resources import prompts
from rcp_admin.routing import NO_CONTENT, TENANT, Call, Routes, answer, no_content, stream_audio
from rcp_admin.unit_of_work import Store, fetch_one, jsonable

ROUTES = Routes(TENANT)

MISSING = ("voicemail message", "message_id")


async def list_all(store: Store, actor: Principal, tenant_id: UUID) -> s.VoicemailList:
    """The tenant's messages, newest first."""
    rows = await store.tenant_rows(
        actor,
        tenant_id,
        "SELECT * FROM voicemail_messages WHERE tenant_id = $1 ORDER BY created_at DESC",
    )
    return s.VoicemailList(items=[s.VoicemailMessage.model_validate(dict(r)) for r in rows])


async def delete(
    store: Store, actor: Principal, tenant_id: UUID, message_id: UUID, request_id: str | None
) -> None:
    """Delete one message and its recording."""
    async with store.tenant_write(
        actor, tenant_id, "voicemail", "delete", str(message_id), request_id
    ) as change:
        row = await fetch_one(
            change.connection,
            MISSING,
            "DELETE FROM voicemail_messages WHERE tenant_id = $1 AND id = $2 RETURNING *",
            tenant_id,
            message_id,
        )
        change.before = jsonable(s.VoicemailMessage.model_validate(dict(row)))
        change.audio_to_forget += await prompts.delete_recordings(
            change.connection, tenant_id, [row["prompt_id"]]
        )


async def audio(
    store: Store, actor: Principal, tenant_id: UUID, message_id: UUID
) -> AsyncIterator[bytes]:
    """A message's recording."""
    await store.tenant_row(actor, tenant_id)
    row = await fetch_one(
        store.pool,
        MISSING,
        "SELECT prompt_id FROM voicemail_messages WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        message_id,
    )
    return store.media_gateway().audio(tenant_id, row["prompt_id"])


def _message_id(c: Call) -> UUID:
    return c.path_uuid("message_id", "voicemail message")


@ROUTES.get("/voicemail", response=s.VoicemailList)
async def list_voicemail(c: Call) -> web.Response:
    """List voicemail messages"""
    return answer(await list_all(c.store, c.principal, c.tenant_id))


@ROUTES.delete("/voicemail/{message_id}", status=NO_CONTENT)
async def delete_voicemail(c: Call) -> web.Response:
    """Delete a voicemail message"""
    await delete(c.store, c.principal, c.tenant_id, _message_id(c), c.request_id)
    return no_content()


@ROUTES.get("/voicemail/{message_id}/audio", audio=True)
async def get_voicemail_audio(c: Call) -> web.StreamResponse:
    """A voicemail message's recording (8 kHz WAV)"""
    chunks = await audio(c.store, c.principal, c.tenant_id, _message_id(c))
    return await stream_audio(c, chunks)
