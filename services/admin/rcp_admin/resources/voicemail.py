"""Voicemail: the messages callers left, listed, played, marked and deleted by the tenant's
admins.

A message is `new` until someone listens to it in the web manager (which then marks it
`read`) or marks it; it can be marked `new` again. Each says where its email stands (the
media service sends it). Deleting a message deletes its recording: its prompt row here, its
audio file by the media service once the deletion commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any
from uuid import UUID

from aiohttp import web

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.resources import prompts
from rcp_admin.routing import TENANT, Call, Routes, answer, no_content, stream_audio
from rcp_admin.unit_of_work import Store, fetch_one

ROUTES = Routes(TENANT)

MISSING = ("voicemail message", "message_id")


def model(row: Any) -> s.VoicemailMessage:
    """A message's row as the API shows it."""
    return s.VoicemailMessage.model_validate(dict(row))


async def list_all(store: Store, actor: Principal, tenant_id: UUID) -> s.VoicemailList:
    """The tenant's messages: new ones first, then the newest."""
    rows = await store.tenant_rows(
        actor,
        tenant_id,
        """SELECT * FROM voicemail_messages WHERE tenant_id = $1
            ORDER BY status = 'new' DESC, created_at DESC, id""",
    )
    return s.VoicemailList(items=[model(r) for r in rows])


async def count(store: Store, actor: Principal, tenant_id: UUID) -> s.VoicemailCount:
    """How many messages the tenant has, and how many are new."""
    [row] = await store.tenant_rows(
        actor,
        tenant_id,
        """SELECT count(*) FILTER (WHERE status = 'new') AS new, count(*) AS total
             FROM voicemail_messages WHERE tenant_id = $1""",
    )
    return s.VoicemailCount(new=row["new"], total=row["total"])


async def mark(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    message_id: UUID,
    body: s.VoicemailPatch,
    request_id: str | None,
) -> s.VoicemailMessage:
    """Mark one message read, or new again."""
    async with store.tenant_write(
        actor, tenant_id, "voicemail", "update", str(message_id), request_id
    ) as change:
        before = await fetch_one(
            change.connection,
            MISSING,
            "SELECT * FROM voicemail_messages WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            tenant_id,
            message_id,
        )
        row = await change.connection.fetchrow(
            """UPDATE voicemail_messages SET status = $3 WHERE tenant_id = $1 AND id = $2
               RETURNING *""",
            tenant_id,
            message_id,
            body.status,
        )
        after = model(row)
        change.record(model(before), after)
    return after


async def delete(
    store: Store, actor: Principal, tenant_id: UUID, message_id: UUID, request_id: str | None
) -> None:
    """Delete one message and its recording."""
    async with store.tenant_write(
        actor, tenant_id, "voicemail", "delete", str(message_id), request_id
    ) as change:
        query = "DELETE FROM voicemail_messages WHERE tenant_id = $1 AND id = $2 RETURNING *"
        row = await change.delete_one(s.VoicemailMessage, MISSING, query, tenant_id, message_id)
        change.audio_to_forget += await prompts.delete_recordings(
            change.connection, tenant_id, [row["prompt_id"]]
        )


async def audio(
    store: Store, actor: Principal, tenant_id: UUID, message_id: UUID
) -> AsyncIterator[bytes]:
    """A message's recording."""
    query = "SELECT prompt_id FROM voicemail_messages WHERE tenant_id = $1 AND id = $2"
    row = await store.tenant_one(actor, tenant_id, MISSING, query, message_id)
    return store.media_gateway().audio(tenant_id, row["prompt_id"])


def _message_id(c: Call) -> UUID:
    return c.path_uuid("message_id", "voicemail message")


@ROUTES.get("/voicemail", response=s.VoicemailList)
async def list_voicemail(c: Call) -> web.Response:
    """List voicemail messages"""
    return answer(await list_all(c.store, c.principal, c.tenant_id))


@ROUTES.get("/voicemail/count", response=s.VoicemailCount)
async def count_voicemail(c: Call) -> web.Response:
    """Count voicemail messages, new and in all"""
    return answer(await count(c.store, c.principal, c.tenant_id))


@ROUTES.patch("/voicemail/{message_id}", body=s.VoicemailPatch, response=s.VoicemailMessage)
async def patch_voicemail(c: Call) -> web.Response:
    """Mark a voicemail message read, or new again"""
    body = await c.body(s.VoicemailPatch)
    message = await mark(c.store, c.principal, c.tenant_id, _message_id(c), body, c.request_id)
    return answer(message)


@ROUTES.delete("/voicemail/{message_id}", status=HTTPStatus.NO_CONTENT)
async def delete_voicemail(c: Call) -> web.Response:
    """Delete a voicemail message"""
    await delete(c.store, c.principal, c.tenant_id, _message_id(c), c.request_id)
    return no_content()


@ROUTES.get("/voicemail/{message_id}/audio", audio=True)
async def get_voicemail_audio(c: Call) -> web.StreamResponse:
    """A voicemail message's recording (8 kHz WAV)"""
    chunks = await audio(c.store, c.principal, c.tenant_id, _message_id(c))
    return await stream_audio(c, chunks)
