"""The menu simulator through the admin API (`POST /v1/tenants/{t}/simulate`): the tenant's
call flow run for a caller's actions, with the real directory and media services, on the
draft, the live version or a version by number; its errors, its bounds, and who may run it.

The tenant is the one the real-call tests use (`stasis_e2e_support.provision`), so that the
agreement test (`test_simulator_agreement.py`) and these read the same configuration.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from admin_support import Admin, running_admin, signed_in
from media_support import media_settings, running_media
from rcp.callflow import flow
from rcp_directory.app import running as running_directory
from rcp_directory.settings import Settings as DirectorySettings
from roles_support import service_url
from stasis_e2e_support import GREETING, HOURS, Tenant, provision

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def admin(
    migrated_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Admin]:
    """The admin API with a directory and a media service of its own (on subjects of their
    own), the test phones allowed as the local stack allows them."""
    scope = f"sim{uuid.uuid4().hex[:10]}"
    directory = DirectorySettings(
        database_url=service_url(migrated_url, "directory"),
        ops_port=0,
        database_pool_max=4,
        directory_nats_scope=scope,
    )
    media = media_settings(migrated_url, tmp_path_factory.mktemp("media"), media_nats_scope=scope)
    async with (
        running_directory(directory),
        running_media(media),
        running_admin(
            migrated_url,
            directory_nats_scope=scope,
            media_nats_scope=scope,
            environment="development",
            allow_test_phones=True,
        ) as running,
    ):
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def tenant(admin: Admin, migrated_url: str) -> Tenant:
    return await provision(migrated_url, "phones-sim")


async def simulate(admin: Admin, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    answer = await admin.carrier.call("POST", f"/v1/tenants/{tenant.id}/simulate", body)
    assert answer.status == 200, answer.body
    result: dict[str, Any] = answer.body
    return result


def kinds(result: dict[str, Any]) -> list[str]:
    return [step["kind"] for step in result["trace"]]


def prompts(result: dict[str, Any]) -> list[str]:
    return [entry["text"] for entry in result["timeline"] if entry["type"] == "prompt"]


async def test_an_announcement_is_heard_with_its_text_audio_and_length_then_the_menu_again(
    admin: Admin, tenant: Tenant
) -> None:
    result = await simulate(admin, tenant, {"actions": [{"keys": "2"}]})
    assert kinds(result) == [
        "started",
        "answered",
        "schedule",
        "menu",
        "key",
        "announcement",
        "menu",
    ]
    assert result["trace"][4]["data"] == {"digit": "2", "action": "play_announcement"}
    assert result["trace"][-1]["data"]["reason"] == "after_announcement"
    assert prompts(result) == [GREETING, HOURS, GREETING]
    greeting = next(e for e in result["timeline"] if e["type"] == "prompt")
    (piece,) = greeting["pieces"]
    assert piece["audio_url"] == f"/v1/tenants/{tenant.id}/prompts/{tenant.ids['greeting']}/audio"
    assert piece["duration_s"] > 1
    assert not piece["estimated"]
    # The key is pressed once the greeting has been heard: the simulated clock says when.
    key = next(e for e in result["timeline"] if e["type"] == "caller")
    assert key["at_s"] == pytest.approx(piece["duration_s"], abs=0.01)
    assert (result["state"], result["outcome"], result["configuration"]) == (
        "waiting",
        None,
        "live",
    )
    audio = await admin.carrier.call("GET", piece["audio_url"])
    assert audio.status == 200
    assert audio.body[:4] == b"RIFF"


async def test_dial_by_name_reads_the_several_matches_the_directory_finds_and_transfers(
    admin: Admin, tenant: Tenant
) -> None:
    body = {
        "actions": [{"keys": "1"}, {"keys": "532"}, {"keys": "2"}],
        "phones": [{"number": "105", "does": "answer", "after_s": 4}],
    }
    result = await simulate(admin, tenant, body)
    steps = {step["kind"]: step["data"] for step in result["trace"]}
    assert steps["lookup"] == {"digits": "532", "page": 0}
    assert steps["lookup_result"] == {"total": 2, "page": 0, "heard": 2}
    offer = prompts(result)[2]
    assert "Pour Jean-Pierre Lefèvre, tapez 1." in offer or "Pour Jean Martin, tapez 1." in offer
    chosen = steps["choice"]["number"]
    assert chosen in ("102", "105")
    spoken = next(
        e for e in result["timeline"] if e["type"] == "prompt" and "tapez 1" in (e["text"] or "")
    )
    (say,) = [p for p in spoken["pieces"] if p["text"].startswith("Pour")][:1]
    assert say["audio_url"].startswith(f"/v1/tenants/{tenant.id}/simulate/speech?text=")
    speech = await admin.carrier.call("GET", say["audio_url"])
    assert speech.status == 200
    assert speech.body[:4] == b"RIFF"
    transfer = next(e for e in result["timeline"] if e["type"] == "transfer")
    if chosen == "105":
        assert (transfer["result"], transfer["ring_s"]) == ("answered", 4)
        assert result["outcome"] == "transferred"
    else:  # 102 was not listed: it answers after 3 s
        assert (transfer["result"], transfer["ring_s"]) == ("answered", 3)


async def test_a_transfer_nobody_answers_rings_its_time_then_the_voicemail_records_a_message(
    admin: Admin, tenant: Tenant
) -> None:
    body = {
        "caller_number": "+33612345678",
        "actions": [{"keys": "0"}, {"wait_s": 4}, {"hang_up": True}],
        "phones": [{"number": "101", "does": "no_answer"}],
    }
    result = await simulate(admin, tenant, body)
    transfer = next(e for e in result["timeline"] if e["type"] == "transfer")
    assert (transfer["number"], transfer["result"], transfer["ring_s"]) == ("101", "no_answer", 5)
    assert kinds(result)[-5:] == ["transfer", "transfer_result", "voicemail", "recording", "ended"]
    assert result["trace"][-2]["data"] == {"saved": True, "by_hangup": True}
    assert result["trace"][0]["data"]["caller_number"] == "+33612345678"
    assert (result["state"], result["outcome"]) == ("ended", "voicemail")
    assert "Vous êtes bien sur la messagerie de Amélie Poulain." in prompts(result)[-1]


async def test_the_first_member_of_a_simultaneous_ring_group_to_answer_is_bridged(
    admin: Admin, tenant: Tenant
) -> None:
    body = {
        "actions": [{"keys": "3"}],
        "phones": [
            {"number": "101", "does": "answer", "after_s": 3},
            {"number": "102", "does": "answer", "after_s": 1},
        ],
    }
    result = await simulate(admin, tenant, body)
    assert kinds(result)[-2:] == ["transfer_result", "bridged"]
    assert result["trace"][-1]["data"] == {"number": "102"}
    assert (result["state"], result["outcome"]) == ("waiting", "transferred")


async def test_a_busy_phone_and_a_phone_that_answers_are_told_apart(
    admin: Admin, tenant: Tenant
) -> None:
    busy = await simulate(
        admin,
        tenant,
        {"actions": [{"keys": "0"}], "phones": [{"number": "101", "does": "busy", "after_s": 1}]},
    )
    assert {"kind": "transfer_result", "number": "101", "result": "busy"}.items() <= {
        "kind": busy["trace"][6]["kind"],
        **busy["trace"][6]["data"],
    }.items()
    answered = await simulate(admin, tenant, {"actions": [{"keys": "0"}]})
    assert kinds(answered)[-2:] == ["transfer_result", "bridged"]
    assert (answered["state"], answered["outcome"]) == ("waiting", "transferred")


async def test_invalid_keys_until_the_retries_run_out_end_the_call(
    admin: Admin, tenant: Tenant
) -> None:
    result = await simulate(admin, tenant, {"actions": [{"keys": "9"}] * 5})
    assert (result["state"], result["outcome"]) == ("ended", "invalid_input")
    assert [s["data"].get("reason") for s in result["trace"] if s["kind"] == "menu"] == [
        "greeting",
        "invalid",
        "invalid",
        "invalid",
        "retries_exhausted",
    ]
    assert result["ignored_actions"] == 1  # the fifth 9 came after the goodbye
    assert prompts(result)[-1] == "Ce choix n'est pas valide. Merci de votre appel. Au revoir."


async def test_silence_lets_the_menu_time_out_and_end_as_no_input(
    admin: Admin, tenant: Tenant
) -> None:
    result = await simulate(admin, tenant, {"actions": [{"wait_s": 600}]})
    assert (result["state"], result["outcome"]) == ("ended", "no_input")


async def test_the_draft_a_version_and_the_live_receptionist_are_each_simulated(
    admin: Admin, tenant: Tenant
) -> None:
    t = f"/v1/tenants/{tenant.id}"
    menus = await admin.carrier.ok("GET", f"{t}/menus")
    first = next(m for m in menus["items"] if m["first"])
    # A draft-only edit: the receptionist as it was is published first, as version 1.
    await admin.carrier.ok("PUT", f"{t}/menus/{first['id']}/keys/2", {"action": "dial_by_name"})
    key = {"actions": [{"keys": "2"}]}
    draft = await simulate(admin, tenant, {**key, "configuration": "draft"})
    live = await simulate(admin, tenant, {**key, "configuration": "live"})
    one = await simulate(admin, tenant, {**key, "configuration": 1})
    assert draft["trace"][4]["data"]["action"] == "dial_by_name"
    assert live["trace"][4]["data"]["action"] == "play_announcement"
    assert one["trace"][4]["data"]["action"] == "play_announcement"
    assert (draft["configuration"], draft["version"]) == ("draft", None)
    assert (one["configuration"], one["version"]) == ("version", 1)
    missing = await admin.carrier.call("POST", f"{t}/simulate", {**key, "configuration": 9})
    assert (missing.status, missing.body["code"], missing.body["field"]) == (
        404,
        "not_found",
        "configuration",
    )


async def test_a_schedule_state_or_a_moment_chooses_the_first_menu(
    admin: Admin, tenant: Tenant
) -> None:
    t = f"/v1/tenants/{tenant.id}"
    closed = await admin.carrier.ok("POST", f"{t}/menus", {"name": "Fermé"})
    await admin.carrier.ok(
        "PUT",
        f"{t}/schedule",
        {
            "weekly": {"mon": [{"start": "09:00", "end": "18:00"}]},
            "menus": {"closed": closed["id"]},
        },
    )
    state = await simulate(admin, tenant, {"configuration": "draft", "schedule_state": "closed"})
    assert state["trace"][2]["data"] == {
        "state": "closed",
        "reason": "simulated: closed",
        "menu": "Fermé",
        "version": None,
    }
    monday_night = await simulate(
        admin, tenant, {"configuration": "draft", "at": "2026-12-07T22:30:00+01:00"}
    )
    assert monday_night["trace"][2]["data"]["state"] == "closed"
    monday_morning = await simulate(
        admin, tenant, {"configuration": "draft", "at": "2026-12-07T10:00:00+01:00"}
    )
    assert monday_morning["trace"][2]["data"]["state"] == "open"


async def test_a_call_longer_than_the_simulations_bounds_is_cut(
    admin: Admin, tenant: Tenant
) -> None:
    result = await simulate(admin, tenant, {"actions": [{"keys": "0"}] + [{"wait_s": 600}] * 7})
    assert result["state"] == "cut"
    assert result["outcome"] == "transferred"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"actions": [{"keys": "1", "wait_s": 2}]}, "actions.0"),
        ({"actions": [{}]}, "actions.0"),
        ({"actions": [{"keys": "1A"}]}, "actions.0.keys"),
        ({"actions": [{"wait_s": 601}]}, "actions.0.wait_s"),
        ({"actions": [{"hang_up": False}]}, "actions.0.hang_up"),
        ({"actions": [{"keys": "1"}] * 101}, "actions"),
        ({"configuration": "tomorrow"}, "configuration"),
        ({"configuration": 0}, "configuration"),
        ({"schedule_state": "lunch"}, "schedule_state"),
        ({"at": "2026-12-07T10:00:00"}, "at"),
        ({"at": "2026-12-07T10:00:00Z", "schedule_state": "open"}, "schedule_state"),
        ({"caller_number": "anonymous"}, "caller_number"),
        ({"phones": [{"number": "101", "does": "explode"}]}, "phones.0.does"),
        ({"phones": [{"number": "101", "does": "busy", "after_s": -1}]}, "phones.0.after_s"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_bad_input_is_refused_with_the_field_that_is_wrong(
    admin: Admin, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    answer = await admin.carrier.call("POST", f"/v1/tenants/{tenant.id}/simulate", body)
    assert answer.status == 422, answer.body
    assert (answer.body["code"], answer.body["field"]) == ("validation_failed", field)


async def test_speech_refuses_text_and_languages_it_cannot_say(
    admin: Admin, tenant: Tenant
) -> None:
    t = f"/v1/tenants/{tenant.id}/simulate/speech"
    empty = await admin.carrier.call("GET", f"{t}?text=&language=fr-FR")
    french = await admin.carrier.call("GET", f"{t}?text=Bonjour&language=french")
    assert (empty.status, empty.body["field"]) == (422, "text")
    assert (french.status, french.body["field"]) == (422, "language")


async def test_another_tenants_token_finds_no_tenant_to_simulate(
    admin: Admin, tenant: Tenant
) -> None:
    _, other = await admin.tenant("other")
    answer = await other.call("POST", f"/v1/tenants/{tenant.id}/simulate", {})
    speech = await other.call(
        "GET", f"/v1/tenants/{tenant.id}/simulate/speech?text=Bonjour&language=fr-FR"
    )
    assert (answer.status, answer.body["code"]) == (404, "not_found")
    assert speech.status == 404


async def test_a_viewer_may_simulate_and_listen_but_still_changes_nothing(
    admin: Admin, tenant: Tenant
) -> None:
    t = f"/v1/tenants/{tenant.id}"
    _, viewer = await signed_in(admin, str(tenant.id), "viewer")
    result = await viewer.call("POST", f"{t}/simulate", {"actions": [{"keys": "2"}]})
    assert result.status == 200, result.body
    assert result.body["trace"][4]["data"]["action"] == "play_announcement"
    change = await viewer.call("PUT", f"{t}/receptionist/keys/2", {"action": "dial_by_name"})
    assert (change.status, change.body["code"]) == (403, "read_only")


async def test_an_editor_may_simulate(admin: Admin, tenant: Tenant) -> None:
    _, editor = await signed_in(admin, str(tenant.id), "editor")
    answer = await editor.call("POST", f"/v1/tenants/{tenant.id}/simulate", {})
    assert answer.status == 200
    assert answer.body["state"] == "waiting"  # the greeting played: the menu waits


async def test_a_message_lasts_what_the_caller_says_and_pound_ends_it(
    admin: Admin, tenant: Tenant
) -> None:
    spoken = await simulate(
        admin, tenant, {"actions": [{"keys": "5"}, {"wait_s": 7.5}, {"keys": "#"}]}
    )
    assert spoken["trace"][-2]["data"] == {"saved": True, "duration_s": 7.5}
    assert (spoken["state"], spoken["outcome"]) == ("ended", "voicemail")
    silent = await simulate(admin, tenant, {"actions": [{"keys": "5"}, {"keys": "#"}]})
    recording = next(s for s in silent["trace"] if s["kind"] == "recording")
    assert recording["data"] == {"saved": False, "duration_s": 0.0}
    assert silent["trace"][-1]["data"]["reason"] == "no_message"  # the menu again


async def test_a_pin_is_checked_against_the_rooms_hash(admin: Admin, tenant: Tenant) -> None:
    right = await simulate(admin, tenant, {"actions": [{"keys": "4"}, {"keys": "4321#"}]})
    wrong = await simulate(admin, tenant, {"actions": [{"keys": "4"}, {"keys": "1111#"}]})
    assert right["trace"][-1]["kind"] == "conference"
    assert right["trace"][-1]["data"] == {"number": "300"}
    assert (right["state"], right["outcome"]) == ("waiting", "conference")
    pins = [s["data"] for s in wrong["trace"] if s["kind"] == "pin"]
    assert pins == [{"number": "300", "correct": False, "result": "wrong"}]


async def test_the_simulator_steps_the_very_function_stasis_steps() -> None:
    from rcp_admin import simulation  # noqa: PLC0415
    from rcp_stasis import executor  # noqa: PLC0415

    # Both modules import it from the one place it lives: nothing of the flow is copied.
    assert vars(simulation)["step"] is vars(executor)["step"] is flow.step
