"""Prompt uploads and audio through the admin API, with the real media service behind it."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import aiohttp
from admin_support import Admin
from media_support import speech


async def _upload(
    admin: Admin, token: str | None, tenant_id: str, data: bytes, name: str
) -> tuple[int, dict[str, object]]:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=name, content_type="application/octet-stream")
    async with admin.carrier.session.post(
        f"{admin.carrier.base}/v1/tenants/{tenant_id}/prompts",
        data=form,
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        return response.status, await response.json()


async def _audio(admin: Admin, token: str | None, path: str) -> tuple[int, str, bytes]:
    async with admin.carrier.session.get(
        f"{admin.carrier.base}{path}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


async def test_uploaded_wav_becomes_a_ready_prompt_that_can_be_listened_to(
    admin_with_media: Admin, tmp_path: Path
) -> None:
    tenant_id, tenant = await admin_with_media.tenant("audio")
    recording = speech(tmp_path / "hello.wav", "Bonjour, vous êtes bien chez Démo.", "fr")
    status, prompt = await _upload(
        admin_with_media, tenant.token, tenant_id, recording.read_bytes(), "accueil.wav"
    )
    assert status == 201, prompt
    assert (prompt["source"], prompt["status"], prompt["original_filename"]) == (
        "upload",
        "ready",
        "accueil.wav",
    )
    status, content_type, audio = await _audio(
        admin_with_media, tenant.token, f"/v1/tenants/{tenant_id}/prompts/{prompt['id']}/audio"
    )
    assert (status, content_type) == (200, "audio/wav")
    assert audio[:4] == b"RIFF"
    assert audio[8:12] == b"WAVE"


async def test_text_prompt_is_rendered_when_first_listened_to(admin_with_media: Admin) -> None:
    tenant_id, tenant = await admin_with_media.tenant("tts")
    prompt = await tenant.ok(
        "POST",
        f"/v1/tenants/{tenant_id}/prompts",
        {"text": "Nos horaires : du lundi au vendredi.", "language": "fr-FR"},
    )
    status, content_type, audio = await _audio(
        admin_with_media, tenant.token, f"/v1/tenants/{tenant_id}/prompts/{prompt['id']}/audio"
    )
    assert (status, content_type) == (200, "audio/wav")
    assert len(audio) > 8000  # at least half a second of 8 kHz 16-bit audio
    assert (await tenant.ok("GET", f"/v1/tenants/{tenant_id}/prompts/{prompt['id']}"))[
        "status"
    ] == "ready"


async def test_upload_that_is_not_audio_is_refused_on_the_file_field(
    admin_with_media: Admin,
) -> None:
    tenant_id, tenant = await admin_with_media.tenant("bad")
    status, body = await _upload(
        admin_with_media, tenant.token, tenant_id, b"%PDF-1.7 not audio at all" * 50, "horaires.wav"
    )
    assert (status, body["code"], body["field"]) == (422, "not_audio", "file")
    assert (await tenant.ok("GET", f"/v1/tenants/{tenant_id}/prompts"))["items"] == []


async def test_upload_over_the_limit_is_a_413_on_the_file_field(admin_with_media: Admin) -> None:
    tenant_id, tenant = await admin_with_media.tenant("big")
    status, body = await _upload(
        admin_with_media, tenant.token, tenant_id, b"\0" * (3 * 1024 * 1024), "big.wav"
    )
    assert (status, body["code"], body["field"]) == (413, "file_too_large", "file")


async def test_another_tenants_prompt_and_voicemail_audio_answer_404(
    admin_with_media: Admin, tmp_path: Path
) -> None:
    owner_id, owner = await admin_with_media.tenant("owner")
    _, other = await admin_with_media.tenant("other")
    recording = speech(tmp_path / "vm.wav", "Rappelez-moi au bureau.", "fr")
    status, prompt = await _upload(
        admin_with_media, owner.token, owner_id, recording.read_bytes(), "vm.wav"
    )
    assert status == 201
    message = await admin_with_media.pool.fetchval(
        """INSERT INTO voicemail_messages (tenant_id, extension_number, prompt_id, duration_ms)
           VALUES ($1, '101', $2, 1500) RETURNING id""",
        uuid.UUID(owner_id),
        uuid.UUID(str(prompt["id"])),
    )
    voicemail = f"/v1/tenants/{owner_id}/voicemail/{message}/audio"
    assert (await _audio(admin_with_media, owner.token, voicemail))[0] == 200
    assert (await _audio(admin_with_media, other.token, voicemail))[0] == 404
    assert (
        await _audio(
            admin_with_media, other.token, f"/v1/tenants/{owner_id}/prompts/{prompt['id']}/audio"
        )
    )[0] == 404
