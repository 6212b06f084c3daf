"""The export archive (application/zip): the document and the uploaded audio it plays, which
imports into another tenant through the media service's ingestion; a malformed archive is
refused with a code."""

from __future__ import annotations

import array
import io
import json
import math
import uuid
import wave
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from admin_support import Admin, Client, running_admin
from media_support import media_settings, running_media, speech

ZIP = "application/zip"
UPLOAD_LIMIT = 2 * 1024 * 1024


@pytest_asyncio.fixture
async def admin(migrated_url: str, tmp_path: Path) -> AsyncIterator[Admin]:
    """The admin API with a real media service behind it."""
    scope = f"zip{uuid.uuid4().hex[:10]}"
    async with (
        running_media(media_settings(migrated_url, tmp_path / "media", media_nats_scope=scope)),
        running_admin(
            migrated_url, media_nats_scope=scope, admin_upload_max_bytes=UPLOAD_LIMIT
        ) as running,
    ):
        yield running


async def _upload(tenant: Client, t: str, audio: bytes, name: str) -> str:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(audio), filename=name)
    async with tenant.session.post(
        f"{tenant.base}{t}/prompts", data=form, headers={"Authorization": f"Bearer {tenant.token}"}
    ) as response:
        assert response.status == 201, await response.text()
        prompt_id: str = (await response.json())["id"]
        return prompt_id


async def _archive(tenant: Client, t: str) -> bytes:
    async with tenant.session.get(
        f"{tenant.base}{t}/export",
        headers={"Authorization": f"Bearer {tenant.token}", "Accept": ZIP},
    ) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == ZIP
        return await response.read()


async def _import(tenant: Client, t: str, archive: bytes) -> tuple[int, Any]:
    answer = await tenant.call("POST", f"{t}/import", raw=archive, headers={"Content-Type": ZIP})
    return answer.status, answer.body


async def _samples(tenant: Client, t: str, prompt_id: str) -> array.array[int]:
    """A prompt's audio as the media service plays it (8 kHz, 16-bit mono)."""
    answer = await tenant.call("GET", f"{t}/prompts/{prompt_id}/audio")
    assert answer.status == 200, answer.body
    with wave.open(io.BytesIO(answer.body), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        return array.array("h", audio.readframes(audio.getnframes()))


def _similarity(one: array.array[int], other: array.array[int]) -> float:
    """Normalised correlation of two signals at lag 0 (1.0: the same shape)."""
    length = min(len(one), len(other))
    dot = sum(a * b for a, b in zip(one[:length], other[:length], strict=True))
    norm = math.sqrt(sum(a * a for a in one[:length]) * sum(b * b for b in other[:length]))
    return dot / norm


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def _source(admin: Admin, tmp_path: Path) -> tuple[str, Client, bytes]:
    """A tenant with an uploaded greeting and an uploaded announcement on key 2; its archive."""
    tenant_id, tenant = await admin.tenant("source")
    t = f"/v1/tenants/{tenant_id}"
    greeting = await _upload(
        tenant, t, speech(tmp_path / "hello.wav", "Bonjour et bienvenue.").read_bytes(), "hello.wav"
    )
    hours = await _upload(
        tenant,
        t,
        speech(tmp_path / "hours.wav", "Ouvert de neuf à dix-huit heures.").read_bytes(),
        "hours.wav",
    )
    await tenant.ok("PATCH", f"{t}/receptionist", {"greeting": {"prompt_id": greeting}})
    await tenant.ok(
        "PUT", f"{t}/receptionist/keys/2", {"action": "play_announcement", "prompt_id": hours}
    )
    name = await _upload(
        tenant, t, speech(tmp_path / "name.wav", "Françoise Le Gall").read_bytes(), "name.wav"
    )
    await tenant.ok(
        "POST",
        f"{t}/extensions",
        {
            "number": "150",
            "kind": "virtual",
            "last_name": "Le Gall",
            "external_number": "+33612345678",
            "spoken_name": {"prompt_id": name},
            "voicemail_greeting": {"prompt_id": name},
        },
    )
    return t, tenant, await _archive(tenant, t)


async def test_an_archive_carries_uploaded_greeting_and_announcement_into_an_empty_tenant(
    admin: Admin, tmp_path: Path
) -> None:
    t, source, archive = await _source(admin, tmp_path)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        document = json.loads(opened.read("receptionist.json"))
        names = sorted(opened.namelist())
    greeting_file = document["receptionist"]["greeting"]["file"]
    [key] = document["keys"]
    assert key["assignment"]["file"] in names
    assert greeting_file in names
    [extension] = document["extensions"]
    assert extension["spoken_name"] == extension["voicemail_greeting"]
    assert extension["spoken_name"]["file"] in names
    assert len(names) == 4  # the document and the three audio files (one played twice)

    other_id, other = await admin.tenant("target")
    o = f"/v1/tenants/{other_id}"
    status, imported = await _import(other, o, archive)
    assert status == 200, imported

    source_setup = await source.ok("GET", f"{t}/receptionist")
    target_setup = await other.ok("GET", f"{o}/receptionist")
    assert target_setup["greeting"]["source"] == "upload"
    assert target_setup["greeting"]["status"] == "ready"
    source_key = (await source.ok("GET", f"{t}/receptionist/keys"))["items"][2]
    target_key = (await other.ok("GET", f"{o}/receptionist/keys"))["items"][2]
    assert target_key["action"] == "play_announcement"
    assert target_key["prompt"]["id"] != source_key["prompt"]["id"]  # the target's own prompt
    # The same audio through the media service: what the source plays went into the archive,
    # and the target plays what its ingestion made of it (trimmed and loudness-normalised
    # again, so the same length and shape, not the same bytes).
    source_extension = await source.ok("GET", f"{t}/extensions/150")
    target_extension = await other.ok("GET", f"{o}/extensions/150")
    assert target_extension["spoken_name"]["id"] == target_extension["voicemail_greeting"]["id"]
    for theirs, ours in (
        (source_setup["greeting"]["id"], target_setup["greeting"]["id"]),
        (source_key["prompt"]["id"], target_key["prompt"]["id"]),
        (source_extension["spoken_name"]["id"], target_extension["spoken_name"]["id"]),
    ):
        played = await _samples(source, t, theirs)
        heard = await _samples(other, o, ours)
        assert abs(len(played) - len(heard)) <= 8000 * 0.05
        assert _similarity(played, heard) > 0.99
    # And the target's own archive says the same again.
    again = await _archive(other, o)
    with zipfile.ZipFile(io.BytesIO(again)) as opened:
        assert json.loads(opened.read("receptionist.json"))["keys"][0]["assignment"]["file"]


async def test_the_json_export_is_unchanged_and_refuses_an_archive_file_reference(
    admin: Admin, tmp_path: Path
) -> None:
    t, source, archive = await _source(admin, tmp_path)
    plain = await source.ok("GET", f"{t}/export")
    assert plain["receptionist"]["greeting"] is None  # the JSON alone carries no audio
    assert plain["keys"][0]["assignment"]["prompt_id"]  # the same tenant's prompt, as before
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        document = json.loads(opened.read("receptionist.json"))
    other_id, other = await admin.tenant("target")
    answer = await other.call("POST", f"/v1/tenants/{other_id}/import", document)
    assert answer.status == 422
    assert answer.body["code"] == "unknown_target"
    assert answer.body["field"] == "extensions[0].voicemail_greeting.file"


async def test_a_malformed_archive_is_refused_with_a_code_and_changes_nothing(
    admin: Admin, tmp_path: Path
) -> None:
    _, _, archive = await _source(admin, tmp_path)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        files = {name: opened.read(name) for name in opened.namelist()}
    document = json.loads(files["receptionist.json"])
    greeting_file = document["receptionist"]["greeting"]["file"]
    other_id, other = await admin.tenant("target")
    o = f"/v1/tenants/{other_id}"
    before = await other.ok("GET", f"{o}/export")

    missing = {name: data for name, data in files.items() if name != greeting_file}
    status, body = await _import(other, o, _zip(missing))
    assert (status, body["code"], body["field"]) == (
        422,
        "unknown_target",
        "receptionist.greeting.file",
    )

    status, body = await _import(other, o, _zip({**files, "../../etc/cron.d/evil": b"x"}))
    assert (status, body["code"]) == (400, "malformed_archive")
    assert "../../etc/cron.d/evil" in body["message"]

    traversal = {**document, "receptionist": {"greeting": {"file": "audio/../../secret"}}}
    status, body = await _import(
        other, o, _zip({**files, "receptionist.json": json.dumps(traversal).encode()})
    )
    assert (status, body["code"]) == (422, "validation_failed")
    assert {
        "field": "receptionist.greeting.AudioFile.file",
        "message": "String should match pattern '^audio/[A-Za-z0-9][A-Za-z0-9._-]{0,120}$'",
    } in body["details"]["errors"]

    big = {**files, greeting_file: b"\0" * (UPLOAD_LIMIT + 1)}
    status, body = await _import(other, o, _zip(big))
    assert (status, body["code"], body["field"]) == (413, "file_too_large", greeting_file)

    # Refused once its audio is in: the prompts made of the files go again.
    unknown = {
        **document,
        "keys": [{"digit": "5", "assignment": {"action": "open_menu", "menu": "Nulle part"}}],
    }
    status, body = await _import(
        other, o, _zip({**files, "receptionist.json": json.dumps(unknown).encode()})
    )
    assert (status, body["code"], body["field"]) == (422, "unknown_target", "keys[5].menu")

    status, body = await _import(other, o, b"not a zip at all")
    assert (status, body["code"]) == (400, "malformed_archive")

    status, body = await _import(other, o, b"\0" * (1024 * 1024 + 21 * UPLOAD_LIMIT))
    assert (status, body["code"]) == (413, "payload_too_large")

    assert await other.ok("GET", f"{o}/export") == before
    assert await other.ok("GET", f"{o}/prompts") == {"items": []}


async def test_an_archive_imports_into_another_installation_with_its_own_database_and_media(
    admin: Admin, tmp_path: Path, own_url: str
) -> None:
    t, source, archive = await _source(admin, tmp_path)
    # Another installation: a database of its own, and a media service with its own store.
    scope = f"zip{uuid.uuid4().hex[:10]}"
    async with (
        running_media(media_settings(own_url, tmp_path / "elsewhere", media_nats_scope=scope)),
        running_admin(
            own_url, media_nats_scope=scope, admin_upload_max_bytes=UPLOAD_LIMIT
        ) as elsewhere,
    ):
        other_id, other = await elsewhere.tenant("elsewhere")
        o = f"/v1/tenants/{other_id}"
        status, imported = await _import(other, o, archive)
        assert status == 200, imported
        source_setup = await source.ok("GET", f"{t}/receptionist")
        target_setup = await other.ok("GET", f"{o}/receptionist")
        assert (target_setup["greeting"]["source"], target_setup["greeting"]["status"]) == (
            "upload",
            "ready",
        )
        target_key = (await other.ok("GET", f"{o}/receptionist/keys"))["items"][2]
        assert target_key["action"] == "play_announcement"
        extension = await other.ok("GET", f"{o}/extensions/150")
        assert extension["last_name"] == "Le Gall"
        played = await _samples(source, t, source_setup["greeting"]["id"])
        heard = await _samples(other, o, target_setup["greeting"]["id"])
        assert abs(len(played) - len(heard)) <= 8000 * 0.05
        assert _similarity(played, heard) > 0.99
