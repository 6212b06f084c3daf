"""Asking the media service for playable prompts, and handing it audio to store.

`upload_prompt` is how the admin API stores an uploaded file and `ingest_recording` how the
stasis service stores a voicemail: both put the bytes in the JetStream object store named in
`subjects.MEDIA_INBOX_BUCKET`, then ask the service to ingest that object. The service reads,
checks, transcodes and stores it, deletes the object and answers with the new prompt; any
refusal comes back as a `RemoteError` with its code (`not_audio`, `file_too_large`...).

`forget_audio` asks the service to delete the audio of prompts that were deleted (the admin
API and the retention job call it once their deletions have committed): the files belong to
the media service, which alone removes them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid

from nats.aio.client import Client as NatsClient
from nats.js.api import ObjectInfo, ObjectStoreConfig, StorageType
from nats.js.errors import (
    BadObjectMetaError,
    BucketNotFoundError,
    NotFoundError,
    ObjectNotFoundError,
)
from nats.js.object_store import ObjectStore

from rcp import subjects
from rcp.contracts.media import (
    MAX_KEYS_TO_FORGET,
    AudioForgotten,
    EnsurePrompt,
    ForgetAudio,
    IngestAudio,
    PlayableMedia,
)
from rcp.messaging import request, request_within

# Objects nobody ingested (their requester died in between) expire after an hour.
INBOX_TTL_S = 3600.0
INBOX_MAX_BYTES = 2 * 1024**3

# A miss renders or transcodes before answering: more than a plain request/reply needs.
ENSURE_TIMEOUT_S = 30.0
INGEST_TIMEOUT_S = 120.0
FORGET_TIMEOUT_S = 30.0


class MediaInbox(ObjectStore):
    """nats-py's object store, reading an object's description (before every put, get and
    delete) by a direct get of its own subject
    (`$JS.API.DIRECT.GET.<stream>.$O.<bucket>.M.<name>`). nats-py reads it through
    `$JS.API.STREAM.MSG.GET.<stream>`, which reads any message of the stream by its
    sequence, the audio's chunks included: a user allowed that to put audio could read
    everyone's. The direct get of a description is what `rcp.nats_access` grants those who
    only hand audio over (the bucket allows direct gets: nats-py creates object stores so)."""

    async def get_info(self, name: str, show_deleted: bool | None = False) -> ObjectInfo:
        encoded = base64.urlsafe_b64encode(name.encode()).decode()
        description = f"$O.{self._name}.M.{encoded}"
        try:
            message = await self._js.get_last_msg(self._stream, description, direct=True)
        except NotFoundError as error:
            raise ObjectNotFoundError from error
        try:
            info: ObjectInfo = ObjectInfo.from_response(json.loads(message.data or b""))
        except (ValueError, TypeError, KeyError) as error:
            raise BadObjectMetaError from error
        if info.deleted and not show_deleted:
            raise ObjectNotFoundError
        return info


async def media_inbox(nc: NatsClient) -> MediaInbox:
    """The inbox object store, created on first use with the same settings by every party."""
    js = nc.jetstream()
    try:
        await js.object_store(subjects.MEDIA_INBOX_BUCKET)
    except BucketNotFoundError:
        config = ObjectStoreConfig(
            description="Audio waiting for the media service to ingest it",
            ttl=INBOX_TTL_S,
            max_bytes=INBOX_MAX_BYTES,
            storage=StorageType.FILE,
        )
        await js.create_object_store(subjects.MEDIA_INBOX_BUCKET, config=config)
    bucket = subjects.MEDIA_INBOX_BUCKET
    return MediaInbox(name=bucket, stream=f"OBJ_{bucket}", js=js)


async def ensure_prompt(
    nc: NatsClient,
    ask: EnsurePrompt,
    *,
    scope: str = "",
    timeout_s: float = ENSURE_TIMEOUT_S,
    budget_s: float | None = None,
) -> PlayableMedia:
    """A URL Asterisk can play for a stored prompt or for text, rendered first if needed.

    With `budget_s` (a caller waits): each attempt waits `timeout_s`, and one more is made
    if the first got no answer and the budget allows."""
    subject = subjects.MEDIA_ENSURE_PROMPT.subject(ask.tenant_id, scope)
    if budget_s is None:
        return await request(nc, subject, ask, PlayableMedia, timeout_s)
    return await request_within(
        nc, subject, ask, PlayableMedia, attempt_s=timeout_s, budget_s=budget_s
    )


async def upload_prompt(
    nc: NatsClient,
    tenant_id: uuid.UUID,
    data: bytes,
    *,
    filename: str | None = None,
    scope: str = "",
    timeout_s: float = INGEST_TIMEOUT_S,
) -> PlayableMedia:
    """Store an uploaded audio file (any supported format) as a new prompt of the tenant."""
    return await _send(
        nc, subjects.MEDIA_INGEST_UPLOAD, scope, tenant_id, data, filename, timeout_s
    )


async def ingest_recording(
    nc: NatsClient,
    tenant_id: uuid.UUID,
    data: bytes,
    *,
    scope: str = "",
    name: str | None = None,
    timeout_s: float = INGEST_TIMEOUT_S,
) -> PlayableMedia:
    """Store a recording Asterisk made (a voicemail) as a new prompt of the tenant."""
    return await _send(nc, subjects.MEDIA_INGEST_RECORDING, scope, tenant_id, data, name, timeout_s)


async def forget_audio(
    nc: NatsClient,
    tenant_id: uuid.UUID,
    keys: list[str],
    *,
    scope: str = "",
    timeout_s: float = FORGET_TIMEOUT_S,
) -> AudioForgotten:
    """Delete the tenant's audio under `keys` that no prompt plays any more (in batches)."""
    subject = subjects.MEDIA_FORGET.subject(tenant_id, scope)
    removed: list[str] = []
    kept: list[str] = []
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), MAX_KEYS_TO_FORGET):
        ask = ForgetAudio(tenant_id=tenant_id, keys=unique[start : start + MAX_KEYS_TO_FORGET])
        done = await request(nc, subject, ask, AudioForgotten, timeout_s)
        removed += done.removed
        kept += done.kept
    return AudioForgotten(removed=removed, kept=kept)


async def _send(
    nc: NatsClient,
    endpoint: subjects.TenantRequest,
    scope: str,
    tenant_id: uuid.UUID,
    data: bytes,
    filename: str | None,
    timeout_s: float,
) -> PlayableMedia:
    subject = endpoint.subject(tenant_id, scope)
    inbox = await media_inbox(nc)
    name = f"{tenant_id}/{uuid.uuid4().hex}"
    await inbox.put(name, data)
    try:
        ask = IngestAudio(tenant_id=tenant_id, object_name=name, original_filename=filename)
        return await request(nc, subject, ask, PlayableMedia, timeout_s)
    finally:
        # The service deletes what it read; this covers a request that never reached it.
        with contextlib.suppress(NotFoundError):
            await inbox.delete(name)
