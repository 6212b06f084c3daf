"""Calls through the real Asterisk 22 of the local stack, with Local channels (no SIP)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from rcp_devstack.ari_probe import AriProbe, Event, ari_probe
from rcp_devstack.settings import StackSettings

NUMBER = "+33199000001"


def started_in(app: str):  # type: ignore[no-untyped-def]
    return lambda e: e.get("type") == "StasisStart" and e.get("application") == app


@pytest.fixture
def caller_app() -> str:
    return f"test-caller-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def probe(asterisk: StackSettings, caller_app: str) -> AsyncIterator[AriProbe]:
    """Plays both the caller (its own app) and the receptionist app."""
    async with ari_probe(
        asterisk.ari_url, asterisk.ari_user, asterisk.ari_password, [asterisk.ari_app, caller_app]
    ) as connected:
        yield connected


async def _hang_up_all(probe: AriProbe, *channel_ids: str) -> None:
    for channel_id in channel_ids:
        await probe.request("DELETE", f"/channels/{channel_id}", missing_ok=True)


@pytest.mark.asterisk
@pytest.mark.parametrize(
    "dialled", ["+33199000001", "33199000001"], ids=["with-plus", "without-plus"]
)
async def test_carrier_call_enters_receptionist_app_with_e164_number(
    probe: AriProbe, asterisk: StackSettings, caller_app: str, dialled: str
) -> None:
    caller = await probe.request(
        "POST", "/channels", endpoint=f"Local/{dialled}@from-carrier/n", app=caller_app
    )
    start = await probe.wait_for(started_in(asterisk.ari_app))
    try:
        assert start["args"] == [NUMBER]
        assert start["channel"]["dialplan"]["context"] == "from-carrier"
    finally:
        await _hang_up_all(probe, start["channel"]["id"], caller["id"])


@pytest.mark.asterisk
async def test_digit_pressed_by_caller_arrives_as_channel_dtmf_received(
    probe: AriProbe, asterisk: StackSettings, caller_app: str
) -> None:
    caller = await probe.request(
        "POST", "/channels", endpoint=f"Local/{NUMBER}@from-carrier/n", app=caller_app
    )
    start = await probe.wait_for(started_in(asterisk.ari_app))
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
async def test_call_is_refused_with_cause_34_when_receptionist_app_is_not_connected(
    asterisk: StackSettings, caller_app: str
) -> None:
    # Only the caller's app is connected: Stasis(receptionist) fails and the fallback runs.
    async with ari_probe(
        asterisk.ari_url, asterisk.ari_user, asterisk.ari_password, [caller_app]
    ) as caller_only:
        caller = await caller_only.request(
            "POST", "/channels", endpoint=f"Local/{NUMBER}@from-carrier/n", app=caller_app
        )
        gone = await caller_only.wait_for(
            lambda e: e.get("type") == "ChannelDestroyed" and e["channel"]["id"] == caller["id"]
        )
        assert gone["cause"] == 34
