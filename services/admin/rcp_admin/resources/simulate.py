"""The menu simulator: what a caller would hear and meet, before anyone calls.

`POST /simulate` runs a configuration (the draft, the live version or a version by number)
at a moment or in a schedule state, for a caller's actions (keys, waits, hanging up) and what
the phones do, through the same call flow as stasis (`rcp.callflow`), with the real directory
and media services (`rcp_admin.simulation`). It changes nothing, so every member of the tenant
may run it, viewers too. `GET /simulate/speech` plays a sentence of the timeline.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from aiohttp import web
from rcp.callflow.events import CallContext
from rcp.callflow.prompts import Playable, SpokenText, TenantPrompt
from rcp.callflow.snapshot import build
from rcp.config_store import read_snapshot
from rcp.contracts.media import LOCALE_PATTERN
from rcp.db.receptionists import read_document
from rcp.schedule import ScheduleState, decide, decision_in

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError, not_found
from rcp_admin.publishing import document_of
from rcp_admin.routing import TENANT, Call, Routes, answer, stream_audio
from rcp_admin.simulation import Simulator
from rcp_admin.unit_of_work import Store

ROUTES = Routes(TENANT)

SIMULATED_CALL = "simulation"
"""The call id of a simulated call (its ids begin with it)."""
MAX_SPEECH_CHARACTERS = 1000

PROMPT_TEXTS = """
    SELECT id, tts_text, original_filename FROM prompts WHERE tenant_id = $1"""
VERSION_DOCUMENT = """
    SELECT document FROM receptionist_versions WHERE tenant_id = $1 AND number = $2"""


async def _configuration(
    store: Store, tenant_id: UUID, chosen: str | int
) -> tuple[dict[str, Any], dict[UUID, str]]:
    """The tenant's snapshot with the chosen receptionist document, and its prompts' texts."""
    pool = store.pool
    async with (
        pool.pool.acquire() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        await pool.scope.apply(connection)
        snapshot = await read_snapshot(connection, tenant_id)
        if snapshot["tenant"] is None:
            raise not_found("tenant", "tenant_id")
        if chosen == "draft":
            document = await read_document(connection, tenant_id)
            snapshot["version"] = None
            snapshot["document"] = None if document is None else document.model_dump(mode="json")
        elif isinstance(chosen, int):
            raw = await connection.fetchval(VERSION_DOCUMENT, tenant_id, chosen)
            if raw is None:
                raise not_found(f"version {chosen}", "configuration")
            snapshot["version"] = chosen
            snapshot["document"] = document_of(raw).model_dump(mode="json")
        rows = await connection.fetch(PROMPT_TEXTS, tenant_id)
    texts = {
        row["id"]: row["tts_text"] or f"« {row['original_filename'] or 'recording'} »"
        for row in rows
    }
    # A suspended tenant's configuration can still be tried.
    snapshot["tenant"] = {**snapshot["tenant"], "status": "active"}
    return snapshot, texts


def _audio_url(tenant_id: UUID) -> Any:
    base = f"/v1/tenants/{tenant_id}"

    def url(piece: Playable) -> str | None:
        if isinstance(piece, TenantPrompt):
            return f"{base}/prompts/{piece.prompt_id}/audio"
        if isinstance(piece, SpokenText):
            query = urlencode({"text": piece.text, "language": piece.language})
            return f"{base}/simulate/speech?{query}"
        return None

    return url


async def simulate(
    store: Store, actor: Principal, tenant_id: UUID, body: s.SimulateBody
) -> s.Simulation:
    """Run the call flow on a configuration for the caller's actions; its timeline."""
    await store.tenant_row(actor, tenant_id)  # another tenant's: 404
    if body.at is not None and body.schedule_state is not None:
        raise ApiError(
            VALIDATION_FAILED, "give either at or schedule_state, not both", "schedule_state"
        )
    lookups = store.simulator_lookups()
    snapshot, texts = await _configuration(store, tenant_id, body.configuration)
    config = build(tenant_id, snapshot)
    assert config is not None  # noqa: S101 - the tenant exists and is taken as active
    if body.schedule_state is not None:
        chosen = ScheduleState(body.schedule_state)
        decision = decision_in(config.schedule, chosen, f"simulated: {chosen.value}")
    else:
        decision = decide(config.schedule, body.at or datetime.now(UTC))
    numbers = snapshot.get("numbers") or []
    context = CallContext(
        call_id=SIMULATED_CALL,
        called_number=numbers[0] if numbers else "",
        caller_number=body.caller_number,
        config=config,
        options=lookups.options,
        schedule=decision,
    )
    simulator = Simulator(
        lookups,
        context,
        {phone.number: phone for phone in body.phones},
        texts,
        _audio_url(tenant_id),
    )
    ended, ignored = await simulator.run(body.actions)
    label = body.configuration if isinstance(body.configuration, str) else "version"
    return s.Simulation(
        configuration=label,
        version=config.version,
        state=ended,
        outcome=None if simulator.call.outcome is None else simulator.call.outcome.value,
        timeline=[s.SimulatedEntry.model_validate(entry) for entry in simulator.timeline],
        trace=simulator.trace,
        ignored_actions=ignored,
    )


@ROUTES.post("/simulate", body=s.SimulateBody, response=s.Simulation, access="read")
async def post_simulate(c: Call) -> web.Response:
    """Simulate a call: the timeline of what the caller hears and what the flow decides"""
    body = await c.body(s.SimulateBody)
    return answer(await simulate(c.store, c.principal, c.tenant_id, body))


@ROUTES.get(
    "/simulate/speech",
    audio=True,
    query={"text": "What is said", "language": "Its language (a locale such as fr-FR)"},
)
async def get_simulate_speech(c: Call) -> web.StreamResponse:
    """A sentence of a simulation's timeline, spoken as callers hear it (8 kHz WAV)"""
    await c.store.tenant_row(c.principal, c.tenant_id)
    text = c.request.query.get("text", "")
    language = c.request.query.get("language", "")
    if not text.strip() or len(text) > MAX_SPEECH_CHARACTERS or not text.isprintable():
        raise ApiError(
            VALIDATION_FAILED,
            f"text must be 1 to {MAX_SPEECH_CHARACTERS} printable characters",
            "text",
        )
    if not re.fullmatch(LOCALE_PATTERN, language):
        raise ApiError(VALIDATION_FAILED, "language must be a locale such as fr-FR", "language")
    chunks = c.store.media_gateway().speech(c.tenant_id, text, language)
    return await stream_audio(c, chunks)
