"""Prompts: what callers hear, spoken from text (TTS) or uploaded; their audio on demand.

A prompt is deleted once nothing plays it (409 `in_use` names what still does); the audio of
an upload goes with it, deleted by the media service, which owns the files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from rcp.errors import ErrorCode

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import (
    IN_USE,
    MALFORMED_BODY,
    UNKNOWN_TARGET,
    VALIDATION_FAILED,
    ApiError,
)
from rcp_admin.routing import (
    TENANT,
    UPLOAD_LIMIT_KEY,
    Call,
    Routes,
    answer,
    created,
    no_content,
    stream_audio,
)
from rcp_admin.unit_of_work import Reader, Store, fetch_one, jsonable, returned

ROUTES = Routes(TENANT)

ONE = "SELECT * FROM prompts WHERE tenant_id = $1 AND id = $2"
MISSING = ("prompt", "prompt_id")


def model(row: asyncpg.Record) -> s.Prompt:
    """A prompt's row as the API shows it."""
    return s.Prompt.model_validate({**dict(row), "text": row["tts_text"]})


async def insert_tts(connection: Reader, tenant_id: UUID, body: s.TtsPrompt) -> s.Prompt:
    """A new prompt spoken from text (rendered when first needed)."""
    row = await connection.fetchrow(
        """INSERT INTO prompts (tenant_id, source, tts_text, language, voice)
           VALUES ($1, 'tts', $2, $3, $4) RETURNING *""",
        tenant_id,
        body.text,
        body.language,
        body.voice,
    )
    return model(returned(row))


async def id_of(connection: Reader, tenant_id: UUID, prompt_id: UUID, field_name: str) -> UUID:
    """The id of a prompt that something points at (never a voicemail recording)."""
    found: UUID | None = await connection.fetchval(
        "SELECT id FROM prompts WHERE tenant_id = $1 AND id = $2 AND source <> 'recording'",
        tenant_id,
        prompt_id,
    )
    if found is None:
        raise ApiError(UNKNOWN_TARGET, "there is no such prompt", field_name)
    return found


async def chosen_id(
    connection: Reader,
    tenant_id: UUID,
    choice: s.TtsPrompt | s.GreetingRef | dict[str, Any] | None,
    field_name: str,
) -> UUID | None:
    """The prompt a field chooses: text to speak (a new prompt), an existing prompt of the
    tenant's (422 naming `{field_name}.prompt_id` if there is none), or none. A dict is either
    model as dumped."""
    if isinstance(choice, dict):
        choice = (s.TtsPrompt if "text" in choice else s.GreetingRef).model_validate(choice)
    if choice is None:
        return None
    if isinstance(choice, s.TtsPrompt):
        return (await insert_tts(connection, tenant_id, choice)).id
    return await id_of(connection, tenant_id, choice.prompt_id, f"{field_name}.prompt_id")


async def models_of(
    reader: Reader, tenant_id: UUID, prompt_ids: list[UUID]
) -> dict[UUID, s.Prompt]:
    """Prompts by id, read at once."""
    rows = await reader.fetch(
        "SELECT * FROM prompts WHERE tenant_id = $1 AND id = ANY($2::uuid[])", tenant_id, prompt_ids
    )
    return {row["id"]: model(row) for row in rows}


def tts_of(prompt: s.Prompt | None) -> s.TtsPrompt | None:
    """The text a prompt speaks, to write it again elsewhere (None: not a TTS prompt)."""
    if prompt is None or prompt.source != "tts" or prompt.text is None or prompt.language is None:
        return None
    return s.TtsPrompt(text=prompt.text, language=prompt.language, voice=prompt.voice)


async def create_tts(
    store: Store, actor: Principal, tenant_id: UUID, body: s.TtsPrompt, request_id: str | None
) -> s.Prompt:
    """A prompt spoken from text."""
    async with store.tenant_write(actor, tenant_id, "prompt", "create", None, request_id) as change:
        prompt = await insert_tts(change.connection, tenant_id, body)
        change.key, change.after = str(prompt.id), jsonable(prompt)
    return prompt


async def upload(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    data: bytes,
    filename: str | None,
    request_id: str | None,
) -> s.Prompt:
    """Hand an uploaded audio file to the media service; it becomes a ready prompt."""
    await store.tenant_row(actor, tenant_id)
    prompt_id = await store.media_gateway().upload(tenant_id, data, filename)
    async with store.write(
        actor, tenant_id, "prompt", "upload", str(prompt_id), request_id
    ) as change:
        row = await change.connection.fetchrow(
            "SELECT * FROM prompts WHERE tenant_id = $1 AND id = $2", tenant_id, prompt_id
        )
        prompt = model(returned(row))
        change.after = jsonable(prompt)
    return prompt


async def list_all(store: Store, actor: Principal, tenant_id: UUID) -> s.PromptList:
    """The tenant's prompts (voicemail recordings are not prompts to choose)."""
    rows = await store.tenant_rows(
        actor,
        tenant_id,
        "SELECT * FROM prompts WHERE tenant_id = $1 AND source <> 'recording' ORDER BY created_at",
    )
    return s.PromptList(items=[model(r) for r in rows])


async def read(store: Store, actor: Principal, tenant_id: UUID, prompt_id: UUID) -> s.Prompt:
    """One prompt."""
    return model(await store.tenant_one(actor, tenant_id, MISSING, ONE, prompt_id))


async def users(connection: Reader, tenant_id: UUID, prompt_id: UUID) -> list[str]:
    """What still plays a prompt, in words an admin understands."""
    found: list[str] = []
    if await connection.fetchval(
        "SELECT true FROM receptionists WHERE tenant_id = $1 AND greeting_prompt_id = $2",
        tenant_id,
        prompt_id,
    ):
        found.append("the greeting")
    menus = await connection.fetch(
        "SELECT name FROM menus WHERE tenant_id = $1 AND greeting_prompt_id = $2 ORDER BY name",
        tenant_id,
        prompt_id,
    )
    found += [f"the greeting of menu {row['name']}" for row in menus]
    digits = await connection.fetch(
        """SELECT k.digit, m.name, m.is_first FROM key_assignments k
             JOIN menus m ON m.tenant_id = k.tenant_id AND m.id = k.menu_id
            WHERE k.tenant_id = $1 AND k.prompt_id = $2 ORDER BY NOT m.is_first, m.name, k.digit""",
        tenant_id,
        prompt_id,
    )
    found += [
        f"key {row['digit']}" if row["is_first"] else f"key {row['digit']} of menu {row['name']}"
        for row in digits
    ]
    numbers = await connection.fetch(
        """SELECT number FROM extensions WHERE tenant_id = $1 AND name_prompt_id = $2
            ORDER BY number""",
        tenant_id,
        prompt_id,
    )
    found += [f"the recorded name of extension {row['number']}" for row in numbers]
    greeted = await connection.fetch(
        """SELECT number FROM extensions WHERE tenant_id = $1 AND voicemail_greeting_prompt_id = $2
            ORDER BY number""",
        tenant_id,
        prompt_id,
    )
    found += [f"the voicemail greeting of extension {row['number']}" for row in greeted]
    return found


async def delete(
    store: Store, actor: Principal, tenant_id: UUID, prompt_id: UUID, request_id: str | None
) -> None:
    """Delete a prompt nothing plays any more; an upload's audio goes with it."""
    async with store.tenant_write(
        actor, tenant_id, "prompt", "delete", str(prompt_id), request_id
    ) as change:
        # FOR UPDATE: a key being pointed at it meanwhile waits, then finds it gone.
        row = await fetch_one(
            change.connection,
            MISSING,
            ONE + " AND source <> 'recording' FOR UPDATE",
            tenant_id,
            prompt_id,
        )
        used_by = await users(change.connection, tenant_id, prompt_id)
        if used_by:
            raise ApiError(
                IN_USE,
                f"this prompt is still played by {', '.join(used_by)}: "
                "choose another prompt there first",
                "prompt_id",
                {"used_by": used_by},
            )
        change.before = jsonable(model(row))
        await change.connection.execute(
            "DELETE FROM prompts WHERE tenant_id = $1 AND id = $2", tenant_id, prompt_id
        )
        if row["source"] == "upload" and row["content_hash"] is not None:
            change.audio_to_forget.append(row["content_hash"])


async def delete_recordings(
    connection: Reader, tenant_id: UUID, prompt_ids: list[UUID]
) -> list[str]:
    """Delete the recordings of deleted voicemail messages; return their audio's content keys
    (for the media service to forget once the deletion commits)."""
    rows = await connection.fetch(
        """DELETE FROM prompts p
            WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND source = 'recording'
              AND NOT EXISTS (SELECT 1 FROM voicemail_messages v
                               WHERE v.tenant_id = p.tenant_id AND v.prompt_id = p.id)
           RETURNING content_hash""",
        tenant_id,
        prompt_ids,
    )
    return [row["content_hash"] for row in rows if row["content_hash"] is not None]


async def audio(
    store: Store, actor: Principal, tenant_id: UUID, prompt_id: UUID
) -> AsyncIterator[bytes]:
    """A prompt's audio, after checking the prompt is this tenant's."""
    await read(store, actor, tenant_id, prompt_id)
    return store.media_gateway().audio(tenant_id, prompt_id)


async def _uploaded_file(request: web.Request) -> tuple[bytes, str | None]:
    """The multipart part named `file`, read up to the upload limit."""
    limit = request.app[UPLOAD_LIMIT_KEY]
    try:
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name != "file":
                continue
            data = bytearray()
            while chunk := await part.read_chunk(256 * 1024):
                data += chunk
                if len(data) > limit:
                    raise ApiError(
                        ErrorCode.FILE_TOO_LARGE, f"the file is larger than {limit} bytes", "file"
                    )
            return bytes(data), part.filename
    except (ValueError, AssertionError, UnicodeDecodeError, HttpProcessingError) as error:
        # aiohttp's multipart reader signals a malformed body (no boundary, bad headers) so.
        raise ApiError(MALFORMED_BODY, f"malformed multipart body: {error}") from error
    raise ApiError(VALIDATION_FAILED, "send the audio in a multipart field named file", "file")


@ROUTES.post(
    "/prompts", upload=True, body=s.TtsPrompt, response=s.Prompt, status=HTTPStatus.CREATED
)
async def create_prompt(c: Call) -> web.Response:
    """Create a prompt: JSON text to speak, or a multipart upload (field `file`)"""
    if c.request.content_type == "multipart/form-data":
        data, filename = await _uploaded_file(c.request)
        return created(
            await upload(c.store, c.principal, c.tenant_id, data, filename, c.request_id)
        )
    body = await c.body(s.TtsPrompt)
    return created(await create_tts(c.store, c.principal, c.tenant_id, body, c.request_id))


@ROUTES.get("/prompts", response=s.PromptList)
async def list_prompts(c: Call) -> web.Response:
    """List prompts"""
    return answer(await list_all(c.store, c.principal, c.tenant_id))


@ROUTES.get("/prompts/{prompt_id}", response=s.Prompt)
async def get_prompt(c: Call) -> web.Response:
    """Read a prompt"""
    return answer(await read(c.store, c.principal, c.tenant_id, c.path_uuid("prompt_id", "prompt")))


@ROUTES.delete("/prompts/{prompt_id}", status=HTTPStatus.NO_CONTENT)
async def delete_prompt(c: Call) -> web.Response:
    """Delete a prompt nothing plays (an upload's audio goes with it)"""
    prompt_id = c.path_uuid("prompt_id", "prompt")
    await delete(c.store, c.principal, c.tenant_id, prompt_id, c.request_id)
    return no_content()


@ROUTES.get("/prompts/{prompt_id}/audio", audio=True)
async def get_prompt_audio(c: Call) -> web.StreamResponse:
    """A prompt's audio (8 kHz WAV), rendered first if needed"""
    prompt_id = c.path_uuid("prompt_id", "prompt")
    return await stream_audio(c, await audio(c.store, c.principal, c.tenant_id, prompt_id))
