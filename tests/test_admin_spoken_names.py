"""An extension's spoken name through the admin API on real PostgreSQL (and a real media
service for recordings): text to speak with its own pronunciation, an uploaded or recorded
file, back to the name; kept by export and import."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
from admin_support import Admin, Client
from media_support import speech


async def _extension(admin: Admin, name: str = "names") -> tuple[str, Client, str]:
    tenant_id, tenant = await admin.tenant(name, devices=("jp",))
    base = f"/v1/tenants/{tenant_id}"
    await tenant.ok(
        "POST",
        f"{base}/extensions",
        {
            "number": "102",
            "kind": "physical",
            "first_name": "Jean-Pierre",
            "last_name": "Lefèvre",
            "device": "jp",
        },
    )
    return tenant_id, tenant, base


async def _upload(tenant: Client, base: str, data: bytes, name: str) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=name)
    async with tenant.session.post(
        f"{tenant.base}{base}/prompts",
        data=form,
        headers={"Authorization": f"Bearer {tenant.token}"},
    ) as response:
        assert response.status == 201, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def test_a_spoken_name_is_text_with_its_own_pronunciation_until_set_back_to_null(
    admin: Admin,
) -> None:
    _, tenant, base = await _extension(admin)
    assert (await tenant.ok("GET", f"{base}/extensions/102"))["spoken_name"] is None
    spoken = {"text": "Jan-Pierre Lefaivre", "language": "fr-FR"}
    patched = await tenant.ok("PATCH", f"{base}/extensions/102", {"spoken_name": spoken})
    name = patched["spoken_name"]
    assert (name["source"], name["text"], name["language"]) == ("tts", *spoken.values())
    assert patched["name_prompt_id"] == name["id"]
    assert (patched["first_name"], patched["last_name"]) == ("Jean-Pierre", "Lefèvre")
    listed = (await tenant.ok("GET", f"{base}/extensions"))["items"]
    assert listed[0]["spoken_name"]["id"] == name["id"]
    refused = await tenant.call("DELETE", f"{base}/prompts/{name['id']}")
    assert (refused.status, refused.body["details"]["used_by"]) == (
        409,
        ["the recorded name of extension 102"],
    )
    other = await tenant.ok("PATCH", f"{base}/extensions/102", {"first_name": "J.-P."})
    assert other["spoken_name"]["id"] == name["id"]  # a patch that leaves it out keeps it
    cleared = await tenant.ok("PATCH", f"{base}/extensions/102", {"spoken_name": None})
    assert (cleared["spoken_name"], cleared["name_prompt_id"]) == (None, None)
    assert (await tenant.call("DELETE", f"{base}/prompts/{name['id']}")).status == 204
    made = await tenant.ok(
        "POST",
        f"{base}/extensions",
        {
            "number": "150",
            "kind": "virtual",
            "last_name": "Le Gall",
            "external_number": "+33612345678",
            "spoken_name": {"text": "Françoise Le Gall", "language": "fr-FR"},
        },
    )
    assert made["spoken_name"]["text"] == "Françoise Le Gall"


async def test_a_prompt_of_another_tenant_or_a_voicemail_recording_is_refused_as_a_name(
    admin: Admin,
) -> None:
    tenant_id, tenant, base = await _extension(admin)
    other_id, other = await admin.tenant("names-other")
    theirs = await other.ok(
        "POST", f"/v1/tenants/{other_id}/prompts", {"text": "Bonjour", "language": "fr-FR"}
    )
    recording = await admin.pool.fetchval(
        """INSERT INTO prompts (tenant_id, source, status, content_hash)
           VALUES ($1, 'recording', 'ready', repeat('c', 64)) RETURNING id""",
        tenant_id,
    )
    for prompt_id in (theirs["id"], str(recording)):
        refused = await tenant.call(
            "PATCH", f"{base}/extensions/102", {"spoken_name": {"prompt_id": prompt_id}}
        )
        assert (refused.status, refused.body["code"], refused.body["field"]) == (
            422,
            "unknown_target",
            "spoken_name.prompt_id",
        )
    bad = await tenant.call("PATCH", f"{base}/extensions/102", {"spoken_name": {"text": "x"}})
    assert (bad.status, bad.body["code"]) == (422, "validation_failed")
    assert (await tenant.ok("GET", f"{base}/extensions/102"))["spoken_name"] is None


async def test_an_uploaded_recording_becomes_the_name_and_export_import_keep_both_kinds(
    admin_with_media: Admin, tmp_path: Path
) -> None:
    admin = admin_with_media
    tenant_id, tenant, base = await _extension(admin)
    audio = speech(tmp_path / "name.wav", "Jean-Pierre Lefèvre", pad_s=(0.5, 0.5))
    recorded = await _upload(tenant, base, audio.read_bytes(), "name.wav")
    assert recorded["status"] == "ready"
    patched = await tenant.ok(
        "PATCH", f"{base}/extensions/102", {"spoken_name": {"prompt_id": recorded["id"]}}
    )
    assert (patched["spoken_name"]["source"], patched["spoken_name"]["duration_ms"]) == (
        "upload",
        recorded["duration_ms"],
    )
    heard = await tenant.call("GET", f"{base}/prompts/{recorded['id']}/audio")
    assert heard.status == 200
    assert heard.body[:4] == b"RIFF"
    await admin.devices(tenant_id, "amelie")
    await tenant.ok(
        "POST",
        f"{base}/extensions",
        {
            "number": "101",
            "kind": "physical",
            "last_name": "Poulain",
            "device": "amelie",
            "spoken_name": {"text": "Amélie Pouline", "language": "fr-FR"},
        },
    )

    document = await tenant.ok("GET", f"{base}/export")
    names = {e["number"]: e["spoken_name"] for e in document["extensions"]}
    assert names == {
        "101": {"text": "Amélie Pouline", "language": "fr-FR", "voice": None},
        "102": {"prompt_id": recorded["id"]},
    }
    await tenant.ok("POST", f"{base}/import", document)
    after = {e["number"]: e for e in (await tenant.ok("GET", f"{base}/extensions"))["items"]}
    assert after["102"]["spoken_name"]["id"] == recorded["id"]
    assert after["101"]["spoken_name"]["text"] == "Amélie Pouline"

    # Another tenant takes the text, and refuses the recording (its audio is not theirs).
    other_id, other = await admin.tenant("names-copy", devices=("jp", "amelie"))
    refused = await other.call("POST", f"/v1/tenants/{other_id}/import", document)
    assert (refused.status, refused.body["code"]) == (422, "unknown_target")
    assert refused.body["field"].endswith("spoken_name.prompt_id")
    without = {
        **document,
        "extensions": [
            {**e, "spoken_name": None} if e["number"] == "102" else e
            for e in document["extensions"]
        ],
    }
    copied = await other.ok("POST", f"/v1/tenants/{other_id}/import", without)
    assert {e["number"]: e["spoken_name"] for e in copied["extensions"]} == {
        "101": {"text": "Amélie Pouline", "language": "fr-FR", "voice": None},
        "102": None,
    }
