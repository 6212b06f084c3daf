"""The `receptionist` command line: CSV import keeps good rows, export/import round trips."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from admin_support import Admin, Person
from rcp_admin.cli import CliError, parse_bool, parser, run
from rcp_admin.errors import ApiError
from rcp_admin.settings import Settings as AdminSettings

CSV_TEXT = """\ufeffnumber;kind;first_name;last_name;device;external_number;reachable_by_name
101;physical;Amélie;Poulain;amelie;;oui
102;physical;Jean-Pierre;Lefèvre;jp;;non
103;virtual;Seán;O'Brien;;+33612345678;yes
1;physical;Too;Short;amelie;;yes
104;virtual;No;Number;;0612345678;yes
101;physical;Dup;Licate;jp;;yes
105;physical;Bad;Flag;jp;;perhaps
106;physical;Zoë;Ærø;zoe;;
107;physical;Raw;Dial;PJSIP/zoe;;
108;physical;No;Device;nobody;;
109;virtual;Premium;Rate;;+33899123456;
110;virtual;Far;Away;;+353861234567;
"""


async def _cli(admin: Admin, *argv: str) -> tuple[int, str]:
    settings = AdminSettings(database_url=admin.settings.database_url)
    out = io.StringIO()
    status = await run(parser().parse_args(list(argv)), settings, out, io.StringIO())
    return status, out.getvalue()


async def test_csv_import_keeps_good_rows_and_reports_each_bad_one(
    admin: Admin, tmp_path: Path
) -> None:
    tenant_id, client = await admin.tenant("csv", devices=("amelie", "jp", "zoe"))
    slug = (await client.ok("GET", f"/v1/tenants/{tenant_id}"))["slug"]
    source = tmp_path / "extensions.csv"
    source.write_text(CSV_TEXT, "utf-8")

    status, output = await _cli(admin, "extensions", "import", "--tenant", slug, str(source))

    assert status == 1
    assert "4 extension(s) imported, 8 row(s) refused" in output
    assert "line 5 (number): a number here is 2 to 10 digits" in output
    assert "line 6 (external_number): not an E.164 number" in output
    assert "line 7 (number): this number is already used in the tenant's numbering plan" in output
    assert "line 8: reachable_by_name must be yes or no" in output
    assert "line 10 (device): extensions ring a device your carrier provisioned" in output
    assert "line 11 (device): the tenant has no device nobody" in output
    assert "line 12 (external_number): premium rate numbers are not allowed" in output
    assert "line 13 (external_number): numbers of IE are not allowed" in output
    extensions = {
        e["number"]: e
        for e in (await client.ok("GET", f"/v1/tenants/{tenant_id}/extensions"))["items"]
    }
    assert sorted(extensions) == ["101", "102", "103", "106"]
    assert extensions["102"]["reachable_by_name"] is False
    assert extensions["103"]["external_number"] == "+33612345678"
    assert (extensions["106"]["last_name"], extensions["106"]["device"]) == ("Ærø", "zoe")


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


async def test_a_csv_of_dial_strings_is_refused_and_told_to_name_devices(
    admin: Admin, tmp_path: Path
) -> None:
    tenant_id, client = await admin.tenant("csv")
    slug = (await client.ok("GET", f"/v1/tenants/{tenant_id}"))["slug"]
    source = tmp_path / "old.csv"
    source.write_text("number,kind,last_name,dial_string\n101,physical,X,PJSIP/x\n", "utf-8")
    with pytest.raises(CliError, match=r"unknown column.s. dial_string.*in a device column"):
        await _cli(admin, "extensions", "import", "--tenant", slug, str(source))
    assert (await client.ok("GET", f"/v1/tenants/{tenant_id}/extensions"))["items"] == []


async def test_the_command_line_provisions_changes_lists_and_removes_devices(admin: Admin) -> None:
    tenant_id, client = await admin.tenant("devices")
    slug = (await client.ok("GET", f"/v1/tenants/{tenant_id}"))["slug"]
    endpoint = f"PJSIP/cli-{tenant_id[:8]}"
    status, output = await _cli(
        admin, "device", "add", "--tenant", slug, "--name", "desk", "--endpoint", endpoint
    )
    assert status == 0
    assert f'"endpoint": "{endpoint}"' in output
    with pytest.raises(ApiError, match="never an @host"):
        await _cli(
            admin, "device", "add", "--tenant", slug, "--name", "x", "--endpoint", "PJSIP/a@b.c"
        )
    await client.ok(
        "POST",
        f"/v1/tenants/{tenant_id}/extensions",
        {"number": "101", "kind": "physical", "last_name": "Poulain", "device": "desk"},
    )
    status, _ = await _cli(admin, "device", "change", "--tenant", slug, "desk", "--name", "lobby")
    assert status == 0
    status, listing = await _cli(admin, "device", "list", "--tenant", slug)
    assert listing.split() == ["lobby", endpoint, "101"]
    with pytest.raises(ApiError, match="still rung by extension 101"):
        await _cli(admin, "device", "remove", "--tenant", slug, "lobby")
    await client.ok("DELETE", f"/v1/tenants/{tenant_id}/extensions/101")
    status, output = await _cli(admin, "device", "remove", "--tenant", slug, "lobby")
    assert (status, output.strip()) == (0, "device lobby removed")
    audit = (await admin.carrier.ok("GET", f"/v1/tenants/{tenant_id}/audit"))["items"]
    assert [a["action"] for a in audit if a["entity"] == "device"] == [
        "device.delete",
        "device.update",
        "device.create",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Oui", True), ("non", False), ("1", True), ("", False), ("TRUE", True), ("x", True)],
)
def test_csv_booleans_read_english_and_french(text: str, expected: bool) -> None:
    assert parse_bool(text, "flag") is expected


async def test_export_then_import_into_a_new_tenant_reproduces_it(
    admin: Admin, tmp_path: Path
) -> None:
    source_id, source = await admin.tenant("source", devices=("amelie",))
    t = f"/v1/tenants/{source_id}"
    await source.ok(
        "POST",
        f"{t}/extensions",
        {
            "number": "101",
            "kind": "physical",
            "first_name": "Amélie",
            "last_name": "Poulain",
            "device": "amelie",
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

    assert exported["conference_rooms"][0]["pin_hash"].startswith("scrypt$")
    assert "4242" not in str(exported)
    target_id, target = await admin.tenant("target", devices=("amelie", "g"))
    await target.ok(
        "POST",
        f"/v1/tenants/{target_id}/extensions",
        {"number": "999", "kind": "physical", "last_name": "Gone", "device": "g"},
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
    tenant_id, client = await admin.tenant("atomic", devices=("k", "n"))
    t = f"/v1/tenants/{tenant_id}"
    await client.ok(
        "POST",
        f"{t}/extensions",
        {"number": "101", "kind": "physical", "last_name": "Keep", "device": "k"},
    )
    document = {
        "receptionist": {},
        "extensions": [{"number": "102", "kind": "physical", "last_name": "New", "device": "n"}],
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


async def test_cli_adds_a_carrier_operator_who_signs_in_with_the_password_printed_once(
    admin: Admin,
) -> None:
    email = f"first-operator-{uuid.uuid4().hex[:6]}@carrier.example"
    status, output = await _cli(admin, "user", "add", "--email", email, "--role", "operator")
    password = output.strip().splitlines()[-1]
    person = Person(admin.carrier.session, admin.carrier.base)
    signed = await person.sign_in(email, password)
    _, listed = await _cli(admin, "user", "list")
    tenant_id, _ = await admin.tenant("clipeople")
    slug = (await admin.carrier.ok("GET", f"/v1/tenants/{tenant_id}"))["slug"]
    wrong_role = await _cli_error(
        admin, "user", "add", "--email", "x@example.com", "--role", "operator", "--tenant", slug
    )
    not_sent = await _cli_error(
        admin, "user", "invite", "--email", f"v-{email}", "--role", "viewer", "--tenant", slug
    )

    assert status == 0
    assert "shown once" in output
    assert signed.status == 200
    assert signed.body["role"] == "operator"
    assert signed.body["tenant_id"] is None
    assert email in listed
    assert "active" in listed
    assert "admins, editors or viewers" in wrong_role
    assert "invitation not sent" in not_sent
    stored = await admin.pool.fetchval("SELECT password_hash FROM users WHERE email = $1", email)
    assert password not in stored


async def _cli_error(admin: Admin, *argv: str) -> str:
    """What a command that fails says."""
    try:
        await _cli(admin, *argv)
    except (CliError, ApiError) as error:
        return str(error) + " " + getattr(error, "message", "")
    raise AssertionError(f"{argv} did not fail")
