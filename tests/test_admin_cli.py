"""The `receptionist` command line: CSV import keeps good rows, export/import round trips."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from admin_support import Admin
from rcp_admin.cli import parse_bool, parser, run
from rcp_admin.settings import Settings as AdminSettings

CSV_TEXT = """\ufeffnumber;kind;first_name;last_name;dial_string;external_number;reachable_by_name
101;physical;Amélie;Poulain;PJSIP/amelie;;oui
102;physical;Jean-Pierre;Lefèvre;PJSIP/jp;;non
103;virtual;Seán;O'Brien;;+353861234567;yes
1;physical;Too;Short;PJSIP/x;;yes
104;virtual;No;Number;;0612345678;yes
101;physical;Dup;Licate;PJSIP/dup;;yes
105;physical;Bad;Flag;PJSIP/y;;perhaps
106;physical;Zoë;Ærø;PJSIP/zoe;;
"""


async def _cli(admin: Admin, *argv: str) -> tuple[int, str]:
    settings = AdminSettings(database_url=admin.settings.database_url)
    out = io.StringIO()
    status = await run(parser().parse_args(list(argv)), settings, out, io.StringIO())
    return status, out.getvalue()


async def test_csv_import_keeps_good_rows_and_reports_each_bad_one(
    admin: Admin, tmp_path: Path
) -> None:
    tenant_id, client = await admin.tenant("csv")
    slug = (await client.ok("GET", f"/v1/tenants/{tenant_id}"))["slug"]
    source = tmp_path / "extensions.csv"
    source.write_text(CSV_TEXT, "utf-8")

    status, output = await _cli(admin, "extensions", "import", "--tenant", slug, str(source))

    assert status == 1
    assert "4 extension(s) imported, 4 row(s) refused" in output
    assert "line 5 (number): a number here is 2 to 10 digits" in output
    assert "line 6 (external_number): not an E.164 number" in output
    assert "line 7 (number): this number is already used in the tenant's numbering plan" in output
    assert "line 8: reachable_by_name must be yes or no" in output
    extensions = {
        e["number"]: e
        for e in (await client.ok("GET", f"/v1/tenants/{tenant_id}/extensions"))["items"]
    }
    assert sorted(extensions) == ["101", "102", "103", "106"]
    assert extensions["102"]["reachable_by_name"] is False
    assert extensions["103"]["external_number"] == "+353861234567"
    assert extensions["106"]["last_name"] == "Ærø"


async def test_csv_with_unknown_columns_is_refused_before_any_row(
    admin: Admin, tmp_path: Path
) -> None:
    tenant_id, client = await admin.tenant("csv")
    slug = (await client.ok("GET", f"/v1/tenants/{tenant_id}"))["slug"]
    source = tmp_path / "bad.csv"
    source.write_text("number,kind,email\n101,physical,a@b.c\n", "utf-8")
    with pytest.raises(Exception, match="unknown column"):
        await _cli(admin, "extensions", "import", "--tenant", slug, str(source))
    assert (await client.ok("GET", f"/v1/tenants/{tenant_id}/extensions"))["items"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Oui", True), ("non", False), ("1", True), ("", False), ("TRUE", True), ("x", True)],
)
def test_csv_booleans_read_english_and_french(text: str, expected: bool) -> None:
    assert parse_bool(text, "flag") is expected


async def test_export_then_import_into_a_new_tenant_reproduces_it(
    admin: Admin, tmp_path: Path
) -> None:
    source_id, source = await admin.tenant("source")
    t = f"/v1/tenants/{source_id}"
    await source.ok(
        "POST",
        f"{t}/extensions",
        {
            "number": "101",
            "kind": "physical",
            "first_name": "Amélie",
            "last_name": "Poulain",
            "dial_string": "PJSIP/amelie",
            "reachable_by_name": False,
        },
    )
    await source.ok(
        "POST",
        f"{t}/extensions",
        {
            "number": "150",
            "kind": "virtual",
            "last_name": "Le Gall",
            "external_number": "+33612345678",
        },
    )
    await source.ok(
        "POST",
        f"{t}/ring-groups",
        {
            "number": "200",
            "name": "Accueil",
            "strategy": "sequential",
            "members": ["150", "101"],
            "no_answer": {"action": "voicemail", "extension": "101"},
        },
    )
    await source.ok(
        "POST", f"{t}/conference-rooms", {"number": "300", "name": "Salle", "pin": "4242"}
    )
    await source.ok(
        "PATCH",
        f"{t}/receptionist",
        {
            "greeting": {"text": "Bonjour", "language": "fr-FR"},
            "dial_extension_enabled": True,
            "exhausted_extension": "101",
        },
    )
    for digit, body in {
        "1": {"action": "dial_by_name"},
        "2": {"action": "play_announcement", "prompt": {"text": "Horaires", "language": "fr-FR"}},
        "3": {"action": "transfer", "target": {"kind": "ring_group", "number": "200"}},
        "4": {"action": "transfer", "target": {"kind": "conference", "number": "300"}},
        "5": {"action": "transfer", "target": {"kind": "virtual_extension", "number": "150"}},
    }.items():
        await source.ok("PUT", f"{t}/receptionist/keys/{digit}", body)
    exported = await source.ok("GET", f"{t}/export")

    target_id, target = await admin.tenant("target")
    await target.ok(
        "POST",
        f"/v1/tenants/{target_id}/extensions",
        {"number": "999", "kind": "physical", "last_name": "Gone", "dial_string": "PJSIP/g"},
    )
    status, _ = await _cli(
        admin, "export", "--tenant", source_id, "--output", str(tmp_path / "export.json")
    )
    assert status == 0
    target_slug = (await target.ok("GET", f"/v1/tenants/{target_id}"))["slug"]
    status, _ = await _cli(admin, "import", "--tenant", target_slug, str(tmp_path / "export.json"))
    assert status == 0

    assert await target.ok("GET", f"/v1/tenants/{target_id}/export") == exported
    numbers = [
        e["number"]
        for e in (await target.ok("GET", f"/v1/tenants/{target_id}/extensions"))["items"]
    ]
    assert numbers == ["101", "150"]


async def test_import_is_atomic_when_the_document_is_wrong(admin: Admin) -> None:
    tenant_id, client = await admin.tenant("atomic")
    t = f"/v1/tenants/{tenant_id}"
    await client.ok(
        "POST",
        f"{t}/extensions",
        {"number": "101", "kind": "physical", "last_name": "Keep", "dial_string": "PJSIP/k"},
    )
    document = {
        "receptionist": {},
        "extensions": [
            {"number": "102", "kind": "physical", "last_name": "New", "dial_string": "PJSIP/n"}
        ],
        "keys": [
            {
                "digit": "1",
                "assignment": {
                    "action": "transfer",
                    "target": {"kind": "extension", "number": "404"},
                },
            }
        ],
    }
    answer = await client.call("POST", f"{t}/import", document)
    assert (answer.status, answer.body["code"], answer.body["field"]) == (
        422,
        "unknown_target",
        "keys[1].target.number",
    )
    numbers = [e["number"] for e in (await client.ok("GET", f"{t}/extensions"))["items"]]
    assert numbers == ["101"]


async def test_cli_creates_a_tenant_and_issues_a_working_token(admin: Admin) -> None:
    status, output = await _cli(
        admin, "tenant", "create", "--slug", "cli-made", "--name", "Fromagerie Ærø"
    )
    assert status == 0
    assert '"slug": "cli-made"' in output
    status, token = await _cli(admin, "token", "issue", "--name", "ops", "--tenant", "cli-made")
    assert status == 0
    listed = await admin.carrier.as_(token.strip()).ok("GET", "/v1/tenants")
    assert [t["slug"] for t in listed["items"]] == ["cli-made"]
    audit = await admin.carrier.ok("GET", f"/v1/tenants/{listed['items'][0]['id']}/audit")
    assert audit["items"][-1]["actor"].startswith("cli:")
