"""Personal data has a lifetime: deleting a voicemail, a prompt or a tenant deletes its audio
files (by the media service, which owns them) and its rows, and a tenant's erasure redacts its
audit entries. Everything here runs on the real stack: PostgreSQL, NATS and the media service
with its folder on disk."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import aiohttp
from admin_support import Admin, Client
from media_support import speech
from nats.aio.client import Client as NatsClient
from rcp import media_client
from rcp.pins import hash_pin
from rcp_admin.cli import parser, run
from rcp_admin.settings import Settings as AdminSettings
from rcp_admin.unit_of_work import AuditJson, audit_text, masked
from rcp_devstack.services import SCHEDULED, scheduled_env


def _files(media_dir: Path, key: str) -> list[Path]:
    """The two files of a media entry that are on disk."""
    folder = media_dir / key[:2]
    return [path for path in (folder / f"{key}.wav", folder / f"{key}.wav16") if path.exists()]


async def _upload(admin: Admin, tenant: Client, tenant_id: str, audio: Path) -> dict[str, str]:
    form = aiohttp.FormData()
    data = await asyncio.to_thread(audio.read_bytes)
    form.add_field("file", io.BytesIO(data), filename=audio.name)
    async with admin.carrier.session.post(
        f"{admin.carrier.base}/v1/tenants/{tenant_id}/prompts",
        data=form,
        headers={"Authorization": f"Bearer {tenant.token}"},
    ) as response:
        body: dict[str, str] = await response.json()
        assert response.status == 201, body
        return body


async def _voicemail(
    admin: Admin, nats: NatsClient, tenant_id: str, audio: Path, caller: str
) -> tuple[uuid.UUID, str]:
    """A voicemail message as stasis leaves one: its recording ingested by the media service,
    then its row; returns the message id and the recording's content key."""
    data = await asyncio.to_thread(audio.read_bytes)
    media = await media_client.ingest_recording(
        nats, uuid.UUID(tenant_id), data, scope=admin.settings.media_nats_scope
    )
    message: uuid.UUID = await admin.pool.fetchval(
        """INSERT INTO voicemail_messages (tenant_id, extension_number, caller_number, prompt_id,
                                          duration_ms)
           VALUES ($1, '101', $2, $3, $4) RETURNING id""",
        uuid.UUID(tenant_id),
        caller,
        media.prompt_id,
        media.duration_ms,
    )
    return message, media.key


async def test_deleting_a_voicemail_message_deletes_its_recording_row_and_audio_files(
    admin_with_media: Admin, nats_client: NatsClient, tmp_path: Path
) -> None:
    admin, media_dir = admin_with_media, tmp_path / "media"
    tenant_id, tenant = await admin.tenant("vmdel")
    audio = speech(tmp_path / "vm.wav", "Bonjour, rappelez-moi au zéro six.", "fr")
    message, key = await _voicemail(admin, nats_client, tenant_id, audio, "+33612345678")
    assert len(_files(media_dir, key)) == 2

    path = f"/v1/tenants/{tenant_id}/voicemail/{message}"
    assert (await tenant.call("DELETE", path)).status == 204

    assert _files(media_dir, key) == []
    owner = uuid.UUID(tenant_id)
    assert (
        await admin.pool.fetchval("SELECT count(*) FROM prompts WHERE tenant_id = $1", owner) == 0
    )
    assert await admin.pool.fetchval("SELECT count(*) FROM media_files WHERE key = $1", key) == 0
    assert (await tenant.call("GET", f"{path}/audio")).status == 404
    assert (await tenant.call("DELETE", path)).body["code"] == "not_found"


async def test_deleting_an_uploaded_prompt_deletes_its_audio_files(
    admin_with_media: Admin, tmp_path: Path
) -> None:
    admin, media_dir = admin_with_media, tmp_path / "media"
    tenant_id, tenant = await admin.tenant("promptdel")
    prompt = await _upload(
        admin, tenant, tenant_id, speech(tmp_path / "hours.wav", "Ouvert le lundi.", "fr")
    )
    key = await admin.pool.fetchval(
        "SELECT content_hash FROM prompts WHERE id = $1", uuid.UUID(prompt["id"])
    )
    assert len(_files(media_dir, key)) == 2

    path = f"/v1/tenants/{tenant_id}/prompts/{prompt['id']}"
    assert (await tenant.call("DELETE", path)).status == 204

    assert _files(media_dir, key) == []
    assert await admin.pool.fetchval("SELECT count(*) FROM media_files WHERE key = $1", key) == 0
    assert (await tenant.call("GET", path)).status == 404
    audit = (await tenant.ok("GET", f"/v1/tenants/{tenant_id}/audit"))["items"][0]
    assert (audit["action"], audit["entity_key"], audit["before"]["id"]) == (
        "prompt.delete",
        prompt["id"],
        prompt["id"],
    )


async def test_the_same_audio_uploaded_twice_stays_while_the_other_prompt_plays_it(
    admin_with_media: Admin, tmp_path: Path
) -> None:
    admin, media_dir = admin_with_media, tmp_path / "media"
    tenant_id, tenant = await admin.tenant("twice")
    audio = speech(tmp_path / "same.wav", "Un instant, s'il vous plaît.", "fr")
    first = await _upload(admin, tenant, tenant_id, audio)
    second = await _upload(admin, tenant, tenant_id, audio)
    key = await admin.pool.fetchval(
        "SELECT content_hash FROM prompts WHERE id = $1", uuid.UUID(first["id"])
    )
    prompts = f"/v1/tenants/{tenant_id}/prompts"

    assert (await tenant.call("DELETE", f"{prompts}/{first['id']}")).status == 204
    assert len(_files(media_dir, key)) == 2
    assert (await tenant.call("GET", f"{prompts}/{second['id']}/audio")).status == 200

    assert (await tenant.call("DELETE", f"{prompts}/{second['id']}")).status == 204
    assert _files(media_dir, key) == []


async def test_a_prompt_the_greeting_or_a_key_plays_is_not_deleted_409_in_use_naming_them(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant("inuse")
    base = f"/v1/tenants/{tenant_id}"
    prompt = await tenant.ok("POST", f"{base}/prompts", {"text": "Bonjour", "language": "fr-FR"})
    await tenant.ok("PATCH", f"{base}/receptionist", {"greeting": {"prompt_id": prompt["id"]}})
    announcement = {"action": "play_announcement", "prompt_id": prompt["id"]}
    await tenant.ok("PUT", f"{base}/receptionist/keys/2", announcement)
    await tenant.ok("PUT", f"{base}/receptionist/keys/7", announcement)

    refused = await tenant.call("DELETE", f"{base}/prompts/{prompt['id']}")
    assert (refused.status, refused.body["code"], refused.body["field"]) == (
        409,
        "in_use",
        "prompt_id",
    )
    assert refused.body["details"]["used_by"] == ["the greeting", "key 2", "key 7"]
    assert "the greeting, key 2, key 7" in refused.body["message"]

    await tenant.ok("PATCH", f"{base}/receptionist", {"greeting": None})
    await tenant.ok("DELETE", f"{base}/receptionist/keys/2")
    refused = await tenant.call("DELETE", f"{base}/prompts/{prompt['id']}")
    assert refused.body["details"]["used_by"] == ["key 7"]
    await tenant.ok("DELETE", f"{base}/receptionist/keys/7")
    assert (await tenant.call("DELETE", f"{base}/prompts/{prompt['id']}")).status == 204
    assert (await tenant.ok("GET", f"{base}/prompts"))["items"] == []


async def test_a_voicemail_recording_is_not_a_prompt_to_delete(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant("recording")
    recording = await admin.pool.fetchval(
        """INSERT INTO prompts (tenant_id, source, status, content_hash)
           VALUES ($1, 'recording', 'ready', repeat('c', 64)) RETURNING id""",
        uuid.UUID(tenant_id),
    )
    refused = await tenant.call("DELETE", f"/v1/tenants/{tenant_id}/prompts/{recording}")
    assert (refused.status, refused.body["code"]) == (404, "not_found")


async def test_forgetting_audio_keeps_another_tenants_and_what_a_prompt_still_plays(
    admin_with_media: Admin, nats_client: NatsClient, tmp_path: Path
) -> None:
    admin, media_dir = admin_with_media, tmp_path / "media"
    owner_id, owner = await admin.tenant("owner")
    other_id, _ = await admin.tenant("other")
    prompt = await _upload(
        admin, owner, owner_id, speech(tmp_path / "mine.wav", "Mon message.", "fr")
    )
    key = await admin.pool.fetchval(
        "SELECT content_hash FROM prompts WHERE id = $1", uuid.UUID(prompt["id"])
    )
    scope = admin.settings.media_nats_scope

    played = await media_client.forget_audio(nats_client, uuid.UUID(owner_id), [key], scope=scope)
    assert (played.removed, played.kept) == ([], [key])
    await admin.pool.execute("DELETE FROM prompts WHERE id = $1", uuid.UUID(prompt["id"]))
    theirs = await media_client.forget_audio(nats_client, uuid.UUID(other_id), [key], scope=scope)
    assert (theirs.removed, theirs.kept) == ([], [key])
    assert len(_files(media_dir, key)) == 2

    mine = await media_client.forget_audio(nats_client, uuid.UUID(owner_id), [key], scope=scope)
    assert (mine.removed, mine.kept) == ([key], [])
    assert _files(media_dir, key) == []


async def test_erasing_a_tenant_removes_its_rows_and_files_and_redacts_its_audit(
    admin_with_media: Admin, nats_client: NatsClient, tmp_path: Path
) -> None:
    admin, media_dir = admin_with_media, tmp_path / "media"
    tenant_id, tenant = await admin.tenant("erase")
    owner = uuid.UUID(tenant_id)
    base = f"/v1/tenants/{tenant_id}"
    mobile, room_pin = "+33687654321", "482913"
    await tenant.ok(
        "POST",
        f"{base}/extensions",
        {
            "number": "104",
            "kind": "virtual",
            "first_name": "Françoise",
            "last_name": "Le Gall",
            "external_number": mobile,
        },
    )
    await tenant.ok(
        "POST", f"{base}/conference-rooms", {"number": "300", "name": "Monet", "pin": room_pin}
    )
    upload = await _upload(
        admin, tenant, tenant_id, speech(tmp_path / "greet.wav", "Bienvenue chez Erase.", "fr")
    )
    upload_key = await admin.pool.fetchval(
        "SELECT content_hash FROM prompts WHERE id = $1", uuid.UUID(upload["id"])
    )
    audio = speech(tmp_path / "vm.wav", "C'est Françoise, rappelez-moi.", "fr")
    _, voicemail_key = await _voicemail(admin, nats_client, tenant_id, audio, "+33611112222")
    await admin.pool.execute(
        """INSERT INTO call_records (tenant_id, call_id, called_number, caller_number, started_at)
           VALUES ($1, $2, '+33199000001', '+33611112222', now())""",
        owner,
        f"erase-{uuid.uuid4().hex}",
    )
    assert await admin.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND after::text LIKE $2",
        owner,
        f"%{mobile}%",
    )

    await admin.carrier.ok("PATCH", base, {"status": "suspended"})
    assert (await admin.carrier.call("DELETE", base)).status == 204

    for key in (upload_key, voicemail_key):
        assert _files(media_dir, key) == [], key
        assert (
            await admin.pool.fetchval("SELECT count(*) FROM media_files WHERE key = $1", key) == 0
        )
    for table in ("extensions", "prompts", "voicemail_messages", "call_records", "admin_tokens"):
        left = await admin.pool.fetchval(
            f"SELECT count(*) FROM {table} WHERE tenant_id = $1", owner
        )
        assert left == 0, table
    audit = [
        dict(row)
        for row in await admin.pool.fetch(
            "SELECT * FROM audit_log WHERE tenant_id = $1 ORDER BY id", owner
        )
    ]
    assert [row["action"] for row in audit][-1] == "tenant.delete"
    assert "extension.create" in [row["action"] for row in audit]
    written = " ".join(str(row) for row in audit)
    for personal in (mobile, "Françoise", "Le Gall", "Monet", room_pin, "Erase", "erase admin"):
        assert personal not in written, personal
    assert all(row["before"] is None and row["after"] is None for row in audit[:-1])
    assert audit[-1]["before"] == {
        "erased": {"extensions": 1, "prompts": 2, "voicemail": 1, "call_records": 1}
    }
    assert audit[-1]["entity_key"] == tenant_id


def test_the_audit_masks_secret_fields_at_any_depth() -> None:
    written = {
        "number": "300",
        "pin": "482913",
        "rooms": [{"pin_hash": "scrypt$...", "name": "Monet"}, {"pin": None}],
        "token": {"token": "rcp_secret"},
    }
    assert masked(written) == {
        "number": "300",
        "pin": "***",
        "rooms": [{"pin_hash": "***", "name": "Monet"}, {"pin": None}],
        "token": "***",
    }


def test_a_model_audited_as_its_json_is_masked_like_its_values() -> None:
    # A model's JSON goes into the audit log as it was encoded; one that names a secret
    # field (at any depth, or inside a list of models' JSON) is masked as values are.
    plain = '{"number": "300", "name": "Monet", "has_pin": true}'
    secret = '{"number": "301", "rooms": [{"pin": "482913"}], "token": "rcp_secret"}'
    assert audit_text(AuditJson(plain)) == plain
    assert json.loads(audit_text(AuditJson(secret)) or "") == masked(json.loads(secret))
    assert json.loads(audit_text([AuditJson(plain), AuditJson(secret)]) or "") == [
        json.loads(plain),
        {"number": "301", "rooms": [{"pin": "***"}], "token": "***"},
    ]
    assert audit_text({"sessions_ended": 2}) == '{"sessions_ended": 2}'
    assert audit_text(None) is None


async def test_no_audited_write_holds_a_pin_a_pin_hash_or_a_token(admin: Admin) -> None:
    tenant_id, tenant = await admin.tenant("secrets")
    base = f"/v1/tenants/{tenant_id}"
    pins = ("482913", "271828", "314159", "161803")
    await tenant.ok(
        "POST", f"{base}/conference-rooms", {"number": "300", "name": "A", "pin": pins[0]}
    )
    await tenant.ok("PATCH", f"{base}/conference-rooms/300", {"pin": pins[1]})
    await tenant.ok("DELETE", f"{base}/conference-rooms/300")
    stored_hash = hash_pin(pins[3])
    await tenant.ok(
        "POST",
        f"{base}/import",
        {
            "receptionist": {},
            "conference_rooms": [
                {"number": "301", "name": "B", "pin": pins[2]},
                {"number": "302", "name": "C", "pin_hash": stored_hash},
            ],
        },
    )
    issued = await admin.carrier.ok("POST", f"{base}/tokens", {"name": "second"})
    await admin.carrier.ok("DELETE", f"{base}/tokens/{issued['id']}")
    token_hash = await admin.pool.fetchval(
        "SELECT encode(token_hash, 'hex') FROM admin_tokens WHERE id = $1",
        uuid.UUID(issued["id"]),
    )

    rows = await admin.pool.fetch(
        "SELECT action, before::text, after::text FROM audit_log WHERE tenant_id = $1",
        uuid.UUID(tenant_id),
    )
    assert {row["action"] for row in rows} >= {
        "conference_room.create",
        "conference_room.update",
        "conference_room.delete",
        "tenant.import",
        "token.issue",
        "token.revoke",
    }
    written = " ".join(f"{row['before']} {row['after']}" for row in rows)
    for secret in (*pins, stored_hash, "scrypt$", issued["token"], token_hash):
        assert secret not in written, secret


# --- retention -----------------------------------------------------------------------------


async def test_retention_has_defaults_that_a_tenant_admin_changes_within_bounds(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant("keep")
    path = f"/v1/tenants/{tenant_id}/retention"
    assert await tenant.ok("GET", path) == {
        "call_records_days": 365,
        "voicemail_days": 90,
        "updated_at": None,
    }
    changed = await tenant.ok("PATCH", path, {"voicemail_days": 30})
    assert (changed["call_records_days"], changed["voicemail_days"]) == (365, 30)
    assert changed["updated_at"] is not None
    for refused in ({"call_records_days": 0}, {"voicemail_days": 3651}, {"voicemail_days": None}):
        answer = await tenant.call("PATCH", path, refused)
        assert (answer.status, answer.body["code"]) == (422, "validation_failed"), refused
    assert (await tenant.ok("GET", path))["voicemail_days"] == 30
    audit = (await tenant.ok("GET", f"/v1/tenants/{tenant_id}/audit"))["items"][0]
    assert (
        audit["action"],
        audit["before"]["voicemail_days"],
        audit["after"]["voicemail_days"],
    ) == (
        "retention.update",
        90,
        30,
    )


async def _call_record(admin: Admin, tenant_id: str, days_ago: float) -> str:
    call_id = f"ret-{uuid.uuid4().hex}"
    await admin.pool.execute(
        """INSERT INTO call_records (tenant_id, call_id, called_number, caller_number, started_at,
                                     ended_at, outcome)
           VALUES ($1, $2, '+33199000001', '+33611112222', now() - make_interval(days => $3),
                   now() - make_interval(days => $3), 'transferred')""",
        uuid.UUID(tenant_id),
        call_id,
        days_ago,
    )
    return call_id


async def test_the_retention_job_deletes_only_what_is_older_than_each_tenants_setting(
    admin_with_media: Admin, nats_client: NatsClient, tmp_path: Path
) -> None:
    admin, media_dir = admin_with_media, tmp_path / "media"
    short_id, short = await admin.tenant("short")
    default_id, _ = await admin.tenant("default")
    await short.ok(
        "PATCH",
        f"/v1/tenants/{short_id}/retention",
        {"call_records_days": 30, "voicemail_days": 7},
    )
    calls = {
        (short_id, "expired"): await _call_record(admin, short_id, 31),
        (short_id, "kept"): await _call_record(admin, short_id, 29),
        (default_id, "kept"): await _call_record(admin, default_id, 31),
        (default_id, "expired"): await _call_record(admin, default_id, 366),
    }
    messages = {}
    for owner, state, days_ago in (
        (short_id, "expired", 8),
        (short_id, "kept", 6),
        (default_id, "kept", 8),
        (default_id, "expired", 91),
    ):
        audio = speech(tmp_path / f"{owner}-{state}.wav", f"Message {state} {days_ago}.", "fr")
        message, key = await _voicemail(admin, nats_client, owner, audio, "+33611112222")
        await admin.pool.execute(
            "UPDATE voicemail_messages SET created_at = now() - make_interval(days => $2) "
            "WHERE id = $1",
            message,
            days_ago,
        )
        messages[owner, state] = (message, key)

    settings = AdminSettings(
        database_url=admin.settings.database_url,
        media_nats_scope=admin.settings.media_nats_scope,
        nats_user="retention",  # as the CronJob and the local stack run it
    )
    out = io.StringIO()
    status = await run(parser().parse_args(["retention", "apply"]), settings, out, io.StringIO())

    assert status == 0
    assert f"{short_id}: 1 call record(s), 1 voicemail message(s) deleted" in out.getvalue()
    assert f"{default_id}: 1 call record(s), 1 voicemail message(s) deleted" in out.getvalue()
    for (owner, state), call_id in calls.items():
        left = await admin.pool.fetchval(
            "SELECT count(*) FROM call_records WHERE call_id = $1", call_id
        )
        assert left == (state == "kept"), (owner, state)
    for (owner, state), (message, key) in messages.items():
        rows = await admin.pool.fetchval(
            """SELECT (SELECT count(*) FROM voicemail_messages WHERE id = $1)
                    + (SELECT count(*) FROM prompts WHERE content_hash = $2)
                    + (SELECT count(*) FROM media_files WHERE key = $2)""",
            message,
            key,
        )
        files = _files(media_dir, key)
        if state == "kept":
            assert (rows, len(files)) == (3, 2), (owner, state)
        else:
            assert (rows, files) == (0, []), (owner, state)
    entry = await admin.pool.fetchrow(
        "SELECT actor, after FROM audit_log WHERE tenant_id = $1 AND action = 'retention.apply'",
        uuid.UUID(short_id),
    )
    assert entry is not None
    assert entry["actor"] == "retention job"
    assert entry["after"] == {
        "call_records": 1,
        "voicemail": 1,
        "call_records_days": 30,
        "voicemail_days": 7,
    }

    again = io.StringIO()
    await run(parser().parse_args(["retention", "apply"]), settings, again, io.StringIO())
    assert short_id not in again.getvalue()
    assert (
        await admin.pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'retention.apply'",
            uuid.UUID(short_id),
        )
        == 1
    )


async def test_the_local_stacks_retention_process_repeats_the_job_and_stops_on_sigterm(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant("loop")
    await tenant.ok("PATCH", f"/v1/tenants/{tenant_id}/retention", {"call_records_days": 1})
    command = [*SCHEDULED["retention"][:-1], "0.5"]
    env = {
        **os.environ,
        **scheduled_env("retention"),
        "RCP_DATABASE_URL": admin.settings.database_url,
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / command[0]),
        *command[1:],
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        first = await asyncio.wait_for(process.stdout.readline(), 30)  # type: ignore[union-attr]
        assert first.startswith(b"retention applied:"), first
        call_id = await _call_record(admin, tenant_id, 2)  # expires after the first round
        said = f"{tenant_id}: 1 call record(s)".encode()
        async with asyncio.timeout(30):
            while not (await process.stdout.readline()).startswith(said):  # type: ignore[union-attr]
                pass
        assert not await admin.pool.fetchval(
            "SELECT count(*) FROM call_records WHERE call_id = $1", call_id
        )
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
