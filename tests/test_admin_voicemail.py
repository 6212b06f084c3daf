"""Voicemail through the admin API: an extension's email address and own greeting, messages
read and unread (new first, counted), and both kept by export and import."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from uuid import UUID

from admin_support import Admin, Client
from rcp_admin.cli import parser, run
from rcp_admin.settings import Settings as AdminSettings

AMELIE = {
    "number": "101",
    "kind": "physical",
    "first_name": "Amélie",
    "last_name": "Poulain",
    "device": "amelie",
}


async def _message(admin: Admin, tenant_id: str, minutes_ago: int, status: str = "new") -> str:
    """A voicemail message left `minutes_ago`, as stasis stores one (its recording a prompt)."""
    recording = await admin.pool.fetchval(
        """INSERT INTO prompts (tenant_id, source, status, content_hash)
           VALUES ($1, 'recording', 'ready', md5(random()::text) || md5(random()::text))
           RETURNING id""",
        UUID(tenant_id),
    )
    message: UUID = await admin.pool.fetchval(
        """INSERT INTO voicemail_messages (tenant_id, extension_number, prompt_id, duration_ms,
                                           caller_number, status, created_at)
           VALUES ($1, '101', $2, 3000, '+33612345678', $3, now() - make_interval(mins => $4))
           RETURNING id""",
        UUID(tenant_id),
        recording,
        status,
        minutes_ago,
    )
    return str(message)


async def test_an_extension_keeps_an_email_address_and_a_spoken_greeting_of_its_own(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant(devices=("amelie",))
    base = f"/v1/tenants/{tenant_id}/extensions"

    created = await tenant.ok(
        "POST",
        base,
        AMELIE
        | {
            "voicemail_email": " amelie.poulain@example.org ",
            "voicemail_greeting": {"text": "Amélie est en congé.", "language": "fr-FR"},
        },
    )
    listed = (await tenant.ok("GET", base))["items"]

    assert created["voicemail_email"] == "amelie.poulain@example.org"
    greeting = created["voicemail_greeting"]
    assert (greeting["source"], greeting["text"], greeting["language"]) == (
        "tts",
        "Amélie est en congé.",
        "fr-FR",
    )
    assert listed == [created]
    assert (await tenant.ok("GET", f"{base}/101")) == created


async def test_a_greeting_can_be_a_prompt_of_the_tenant_then_the_standard_one_again(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant(devices=("amelie",))
    t = f"/v1/tenants/{tenant_id}"
    await tenant.ok("POST", f"{t}/extensions", AMELIE)
    prompt = await tenant.ok("POST", f"{t}/prompts", {"text": "Absente", "language": "fr-FR"})

    chosen = await tenant.ok(
        "PATCH", f"{t}/extensions/101", {"voicemail_greeting": {"prompt_id": prompt["id"]}}
    )
    renamed = await tenant.ok("PATCH", f"{t}/extensions/101", {"first_name": "Amy"})
    in_use = await tenant.call("DELETE", f"{t}/prompts/{prompt['id']}")
    cleared = await tenant.ok(
        "PATCH", f"{t}/extensions/101", {"voicemail_greeting": None, "voicemail_email": None}
    )

    assert chosen["voicemail_greeting"]["id"] == prompt["id"]
    assert renamed["voicemail_greeting"]["id"] == prompt["id"]  # a patch leaving it out keeps it
    assert (in_use.status, in_use.body["code"]) == (409, "in_use")
    assert in_use.body["details"]["used_by"] == ["the voicemail greeting of extension 101"]
    assert (cleared["voicemail_greeting"], cleared["voicemail_email"]) == (None, None)
    assert (await tenant.call("DELETE", f"{t}/prompts/{prompt['id']}")).status == 204


async def test_a_bad_address_and_a_prompt_not_the_tenants_are_refused_on_their_field(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant(devices=("amelie",))
    other_id, other = await admin.tenant("other")
    t = f"/v1/tenants/{tenant_id}"
    theirs = await other.ok(
        "POST", f"/v1/tenants/{other_id}/prompts", {"text": "Autre", "language": "fr-FR"}
    )
    await tenant.ok("POST", f"{t}/extensions", AMELIE)
    message = await _message(admin, tenant_id, 1)
    recording = str(
        await admin.pool.fetchval(
            "SELECT prompt_id FROM voicemail_messages WHERE id = $1", UUID(message)
        )
    )

    answers = {
        bad: await tenant.call("PATCH", f"{t}/extensions/101", body)
        for bad, body in {
            "no at": {"voicemail_email": "amelie.example.org"},
            "two": {"voicemail_email": "a@example.org, b@example.org"},
            "header": {"voicemail_email": "a@example.org\r\nBcc: x@example.org"},
            "theirs": {"voicemail_greeting": {"prompt_id": theirs["id"]}},
            "recording": {"voicemail_greeting": {"prompt_id": recording}},
        }.items()
    }

    fields = {bad: (a.status, a.body["field"]) for bad, a in answers.items()}
    assert fields == {
        "no at": (422, "voicemail_email"),
        "two": (422, "voicemail_email"),
        "header": (422, "voicemail_email"),
        "theirs": (422, "voicemail_greeting.prompt_id"),
        "recording": (422, "voicemail_greeting.prompt_id"),
    }
    assert (await tenant.ok("GET", f"{t}/extensions/101"))["voicemail_greeting"] is None


async def test_messages_list_new_ones_first_are_counted_and_marked_read_or_new(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    old_new = await _message(admin, tenant_id, 60)
    recent_read = await _message(admin, tenant_id, 5, status="read")
    recent_new = await _message(admin, tenant_id, 10)

    listed = (await tenant.ok("GET", f"{t}/voicemail"))["items"]
    counted = await tenant.ok("GET", f"{t}/voicemail/count")
    read = await tenant.ok("PATCH", f"{t}/voicemail/{recent_new}", {"status": "read"})
    counted_after = await tenant.ok("GET", f"{t}/voicemail/count")
    unread = await tenant.ok("PATCH", f"{t}/voicemail/{recent_read}", {"status": "new"})
    relisted = (await tenant.ok("GET", f"{t}/voicemail"))["items"]

    assert [m["id"] for m in listed] == [recent_new, old_new, recent_read]
    assert listed[0]["email_status"] == "pending"
    assert counted == {"new": 2, "total": 3}
    assert read["status"] == "read"
    assert counted_after == {"new": 1, "total": 3}
    assert unread["status"] == "new"
    assert [m["id"] for m in relisted] == [recent_read, old_new, recent_new]
    audit = (await tenant.ok("GET", f"{t}/audit"))["items"]
    assert [(a["action"], a["entity_key"]) for a in audit][:2] == [
        ("voicemail.update", recent_read),
        ("voicemail.update", recent_new),
    ]
    assert (audit[1]["before"]["status"], audit[1]["after"]["status"]) == ("new", "read")


async def test_marking_refuses_another_word_and_answers_404_for_another_tenants_message(
    admin: Admin,
) -> None:
    tenant_id, tenant = await admin.tenant()
    other_id, other = await admin.tenant("other")
    mine = await _message(admin, tenant_id, 1)
    theirs = await _message(admin, other_id, 1)
    t = f"/v1/tenants/{tenant_id}"

    wrong_word = await tenant.call("PATCH", f"{t}/voicemail/{mine}", {"status": "heard"})
    across = await tenant.call("PATCH", f"{t}/voicemail/{theirs}", {"status": "read"})
    via_mine = await other.call(
        "PATCH", f"/v1/tenants/{tenant_id}/voicemail/{mine}", {"status": "read"}
    )
    missing = await tenant.call(
        "PATCH", f"{t}/voicemail/00000000-0000-4000-8000-000000000000", {"status": "read"}
    )

    assert (wrong_word.status, wrong_word.body["field"]) == (422, "status")
    assert (across.status, across.body["code"]) == (404, "not_found")
    assert via_mine.status in (403, 404)
    assert (missing.status, missing.body["field"]) == (404, "message_id")
    status = await admin.pool.fetchval(
        "SELECT status FROM voicemail_messages WHERE id = $1", UUID(theirs)
    )
    assert status == "new"


async def _round_trip(admin: Admin, source: Client, source_id: str) -> dict[str, Any]:
    exported: dict[str, Any] = await source.ok("GET", f"/v1/tenants/{source_id}/export")
    target_id, target = await admin.tenant("target", devices=("amelie", "jp"))
    await target.ok("POST", f"/v1/tenants/{target_id}/import", exported)
    again: dict[str, Any] = await target.ok("GET", f"/v1/tenants/{target_id}/export")
    assert again == exported
    return exported


async def test_export_and_import_keep_the_address_and_a_spoken_greeting(admin: Admin) -> None:
    source_id, source = await admin.tenant("source", devices=("amelie", "jp"))
    t = f"/v1/tenants/{source_id}"
    await source.ok(
        "POST",
        f"{t}/extensions",
        AMELIE
        | {
            "voicemail_email": "amelie@example.org",
            "voicemail_greeting": {"text": "Laissez un message.", "language": "fr-FR"},
        },
    )
    await source.ok(
        "POST",
        f"{t}/extensions",
        {"number": "102", "kind": "physical", "last_name": "Lefèvre", "device": "jp"},
    )

    exported = await _round_trip(admin, source, source_id)

    amelie, jean_pierre = exported["extensions"]
    assert amelie["voicemail_email"] == "amelie@example.org"
    assert amelie["voicemail_greeting"] == {
        "text": "Laissez un message.",
        "language": "fr-FR",
        "voice": None,
    }
    assert (jean_pierre["voicemail_email"], jean_pierre["voicemail_greeting"]) == (None, None)


async def test_a_csv_import_takes_each_extensions_email_address(
    admin: Admin, tmp_path: Path
) -> None:
    tenant_id, client = await admin.tenant("csvmail", devices=("amelie", "jp"))
    slug = (await client.ok("GET", f"/v1/tenants/{tenant_id}"))["slug"]
    source = tmp_path / "extensions.csv"
    source.write_text(
        "number;kind;last_name;device;voicemail_email\n"
        "101;physical;Poulain;amelie;amelie@example.org\n"
        "102;physical;Lefèvre;jp;\n"
        "103;physical;Sans;jp;pas-une-adresse\n",
        "utf-8",
    )
    out = io.StringIO()
    settings = AdminSettings(database_url=admin.settings.database_url)

    status = await run(
        parser().parse_args(["extensions", "import", "--tenant", slug, str(source)]),
        settings,
        out,
        io.StringIO(),
    )

    assert status == 1
    assert "2 extension(s) imported, 1 row(s) refused" in out.getvalue()
    assert "line 4 (voicemail_email)" in out.getvalue()
    listed = (await client.ok("GET", f"/v1/tenants/{tenant_id}/extensions"))["items"]
    assert {e["number"]: e["voicemail_email"] for e in listed} == {
        "101": "amelie@example.org",
        "102": None,
    }
