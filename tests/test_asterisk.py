"""Calls through the real Asterisk 22 of the local stack, with Local channels (no SIP).

The stack's own `receptionist` app belongs to the running rcp-stasis: these tests never
connect to it. They dial `test-carrier`, the same dialplan as `from-carrier` (a test below
holds them to it) with the Stasis app named by the channel variable RCP_APP, and play both
the caller and the receptionist in apps of their own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rcp_devstack.ari_probe import AriProbe, Event, ari_probe
from rcp_devstack.asterisk import DEV_DIALPLAN, TEMPLATES
from rcp_devstack.demo import SPEECH_RMS, length_and_loudness
from rcp_devstack.settings import StackSettings

NUMBER = "+33199000001"


def started_in(app: str):  # type: ignore[no-untyped-def]
    return lambda e: e.get("type") == "StasisStart" and e.get("application") == app


@pytest.fixture
def caller_app() -> str:
    return f"test-caller-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def receptionist_app() -> str:
    return f"test-receptionist-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def probe(
    asterisk: StackSettings, caller_app: str, receptionist_app: str
) -> AsyncIterator[AriProbe]:
    """Plays both the caller and the receptionist, each in an app of the test's own."""
    async with ari_probe(
        asterisk.ari_url, asterisk.ari_user, asterisk.ari_password, [receptionist_app, caller_app]
    ) as connected:
        yield connected


async def dial(
    probe: AriProbe, settings: StackSettings, dialled: str, caller_app: str, app: str
) -> dict[str, Any]:
    """A call to `dialled` as the carrier sends it, into the Stasis app `app`."""
    async with probe._session.post(
        f"{settings.ari_url}/ari/channels",
        params={"endpoint": f"Local/{dialled}@test-carrier/n", "app": caller_app},
        json={"variables": {"RCP_APP": app}},
    ) as response:
        response.raise_for_status()
        channel: dict[str, Any] = await response.json()
        return channel


async def _hang_up_all(probe: AriProbe, *channel_ids: str) -> None:
    for channel_id in channel_ids:
        await probe.request("DELETE", f"/channels/{channel_id}", missing_ok=True)


def _context(name: str) -> list[str]:
    """The lines of one context of the dialplan templates (production's and the local
    stack's)."""
    text = (TEMPLATES / "extensions.conf").read_text() + "\n" + DEV_DIALPLAN.read_text()
    block = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    assert block is not None, name
    return [line for line in block.group(1).splitlines() if line and not line.startswith(";")]


def test_the_test_carrier_context_is_from_carrier_with_the_app_from_a_variable() -> None:
    carrier = _context("from-carrier")
    assert carrier
    assert [line.replace("@{app}", "${RCP_APP}") for line in carrier] == _context("test-carrier")


def test_the_bench_ivr_context_is_the_menu_then_transfer_with_one_digit_keys_only() -> None:
    """bench/calls' baseline: what it originates into and the variables it sets."""
    lines = _context("bench-ivr")
    assert lines[:3] == [
        "exten => s,1,Answer()",
        " same => n,Background(${RCP_BENCH_GREETING})",
        " same => n,WaitExten(${RCP_BENCH_WAIT_S})",
    ]
    assert "exten => 1,1,Dial(${RCP_BENCH_PHONE},${RCP_BENCH_RING_S},r)" in lines
    # A pattern would make a pressed key wait for more digits before it acts.
    extensions = {line.split(",")[0].removeprefix("exten => ") for line in lines if "exten" in line}
    assert extensions == {"s", "1", "i", "t"}


@pytest.mark.asterisk
@pytest.mark.parametrize(
    "dialled", ["+33199000001", "33199000001"], ids=["with-plus", "without-plus"]
)
async def test_carrier_call_enters_the_receptionist_app_with_e164_number(
    probe: AriProbe,
    asterisk: StackSettings,
    caller_app: str,
    receptionist_app: str,
    dialled: str,
) -> None:
    caller = await dial(probe, asterisk, dialled, caller_app, receptionist_app)
    start = await probe.wait_for(started_in(receptionist_app))
    try:
        assert start["args"] == [NUMBER]
        assert start["channel"]["dialplan"]["context"] == "test-carrier"
    finally:
        await _hang_up_all(probe, start["channel"]["id"], caller["id"])


@pytest.mark.asterisk
async def test_digit_pressed_by_caller_arrives_as_channel_dtmf_received(
    probe: AriProbe, asterisk: StackSettings, caller_app: str, receptionist_app: str
) -> None:
    caller = await dial(probe, asterisk, NUMBER, caller_app, receptionist_app)
    start = await probe.wait_for(started_in(receptionist_app))
    receptionist = start["channel"]["id"]
    try:
        await probe.request("POST", f"/channels/{receptionist}/answer")
        await probe.wait_for(started_in(caller_app))  # the caller's half joins once answered
        await probe.request("POST", f"/channels/{caller['id']}/dtmf", dtmf="7", duration="100")

        def dtmf_on_receptionist(e: Event) -> bool:
            return e.get("type") == "ChannelDtmfReceived" and e["channel"]["id"] == receptionist

        event = await probe.wait_for(dtmf_on_receptionist)
        assert event["digit"] == "7"
    finally:
        await _hang_up_all(probe, receptionist, caller["id"])


@pytest.mark.asterisk
async def test_call_is_refused_with_cause_34_when_the_receptionist_app_is_not_connected(
    asterisk: StackSettings, caller_app: str, receptionist_app: str
) -> None:
    # Only the caller's app is connected: Stasis(<receptionist app>) fails and the fallback
    # of from-carrier (the same context, receptionist-unavailable) runs.
    async with ari_probe(
        asterisk.ari_url, asterisk.ari_user, asterisk.ari_password, [caller_app]
    ) as caller_only:
        caller = await dial(caller_only, asterisk, NUMBER, caller_app, receptionist_app)
        gone = await caller_only.wait_for(
            lambda e: e.get("type") == "ChannelDestroyed" and e["channel"]["id"] == caller["id"]
        )
        assert gone["cause"] == 34


@pytest.mark.asterisk
async def test_fallback_dial_answers_plays_the_sorry_prompt_and_sends_the_caller_there(
    asterisk: StackSettings, caller_app: str, receptionist_app: str
) -> None:
    # No stasis service on receptionist_app, and a fallback dial string on the call (the
    # channel variable overrides the global rendered from RCP_FALLBACK_DIAL): the caller is
    # answered, hears the sorry prompt, then the fallback rings (a phone of the test's app).
    phone_app = f"test-fallback-{uuid.uuid4().hex[:8]}"
    async with ari_probe(
        asterisk.ari_url, asterisk.ari_user, asterisk.ari_password, [caller_app, phone_app]
    ) as probe:
        async with probe._session.post(
            f"{asterisk.ari_url}/ari/channels",
            params={"endpoint": f"Local/{NUMBER}@test-carrier/n", "app": caller_app},
            json={
                "variables": {
                    "RCP_APP": receptionist_app,
                    "RCP_FALLBACK_DIAL": f"Local/{phone_app}~0612345678@test-apps",
                }
            },
        ) as response:
            response.raise_for_status()
            caller = (await response.json())["id"]
        try:
            await probe.wait_for(started_in(caller_app), 30)  # answered by the fallback
            name = f"fallback-heard-{uuid.uuid4().hex[:8]}"
            await probe.request(
                "POST",
                f"/channels/{caller}/record",
                name=name,
                format="wav",
                maxDurationSeconds="30",
            )
            rung = await probe.wait_for(started_in(phone_app), 60)
            assert rung["args"] == ["0612345678"]
            heard = await probe.stop_recording(name)
            assert length_and_loudness(heard)[1] > SPEECH_RMS
        finally:
            await _hang_up_all(probe, caller)
