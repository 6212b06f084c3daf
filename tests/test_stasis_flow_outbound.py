"""The call flow and outbound calls: the carrier's destination policy, the devices extensions
may ring, legs refused by a call limit, and the longest outbound call (pure, microseconds)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rcp.callflow.commands import Dial, PublishTrace, TraceKind
from rcp.callflow.config import Extension, FlowOptions, RingGroup, TenantConfig, Transfer
from rcp.callflow.events import DialResult, DialStatus, TimerFired
from rcp.outbound import OutboundPolicy, TenantLimits
from rcp.vocabulary import ExtensionKind, Outcome, TargetKind
from stasis_flow_support import (
    BASE,
    EXTENSIONS,
    FINISH,
    HANGUP,
    IN_BRIDGE,
    NewConfig,
    answered,
    configured,
    play_through,
    press,
    start,
)

PREMIUM = "+33899123456"
SATELLITE = "+881612345678"
NOT_REACHABLE_MENU = "play not_reachable + greeting"


def _with(*extensions: Extension, **changes: Any) -> TenantConfig:
    """BASE with some extensions replaced or added, and other fields changed."""
    by_number = {e.number: e for e in EXTENSIONS} | {e.number: e for e in extensions}
    return replace(BASE, extensions=by_number, **changes)


def _virtual(number: str, outside: str) -> Extension:
    return Extension(number, ExtensionKind.VIRTUAL, "Hors", "Site", external_number=outside)


def _refusals(traces: list[PublishTrace]) -> list[dict[str, object]]:
    return [
        dict(t.data)
        for t in traces
        if t.kind is TraceKind.TRANSFER_RESULT and t.data.get("result") == "refused"
    ]


def test_a_virtual_extension_to_a_premium_number_is_not_dialled_and_the_caller_is_back_in_the_menu() -> (
    None
):
    config = _with(_virtual("104", PREMIUM))
    run = play_through((FINISH, press("6")), config)
    assert not [c for c in run.commands if isinstance(c, Dial)]
    assert run.transcript[-1] == NOT_REACHABLE_MENU
    assert _refusals(run.traces) == [
        {
            "number": "104",
            "result": "refused",
            "reason": "destination_not_allowed",
            "refusal": "number_type",
            "number_type": "premium_rate",
            "country": "FR",
            "prefix": None,
        }
    ]
    menu = [t for t in run.traces if t.kind is TraceKind.MENU][-1]
    assert menu.data["reason"] == "not_reachable"
    assert not run.call.ended


def test_a_satellite_number_is_refused_until_the_carrier_allows_its_prefix() -> None:
    refused = play_through((press("6"),), _with(_virtual("104", SATELLITE)))
    assert _refusals(refused.traces)[0]["reason"] == "destination_not_allowed"
    assert _refusals(refused.traces)[0]["country"] == "001"

    policy = OutboundPolicy(home_region="FR", allowed_prefixes=("+8816",))
    allowed = play_through((press("6"),), _with(_virtual("104", SATELLITE), outbound=policy))
    assert "dial PJSIP/+881612345678@carrier for 20s" + IN_BRIDGE in allowed.transcript


def test_a_policy_tightened_during_a_call_applies_to_its_next_transfer() -> None:
    assert (
        "dial PJSIP/+33199000104@carrier for 20s" + IN_BRIDGE
        in play_through((press("6"),)).transcript
    )
    denied = replace(BASE, outbound=OutboundPolicy(home_region="FR", denied_prefixes=("+33199",)))
    run = play_through((NewConfig(denied), press("6")))
    assert not any(isinstance(c, Dial) for c in run.commands)
    assert _refusals(run.traces)[0]["reason"] == "destination_not_allowed"
    assert _refusals(run.traces)[0]["prefix"] == "+33199"


def test_a_ring_group_rings_its_allowed_members_and_traces_the_others() -> None:
    group = RingGroup("205", "Mixte", ("101", "106"))
    config = replace(
        _with(_virtual("106", PREMIUM)),
        ring_groups={**BASE.ring_groups, "205": group},
        keys={**BASE.keys, "8": Transfer(TargetKind.RING_GROUP, "205")},
    )
    run = play_through((press("8"),), config)
    dials = [c for c in run.commands if isinstance(c, Dial)]
    assert [d.endpoint for d in dials] == ["PJSIP/phone-101"]
    assert [r["number"] for r in _refusals(run.traces)] == ["106"]
    transfer = next(t for t in run.traces if t.kind is TraceKind.TRANSFER)
    assert transfer.data["members"] == "101"


def _no_input_until_exhausted(config: TenantConfig) -> list[str]:
    run = start(config)
    for _ in range(8):
        if run.call.ended:
            break
        held = run.call.held
        if held.playback is not None:
            run.feed(run.event_for(FINISH))
        elif held.timer is not None:
            run.feed(TimerFired(held.timer))
    return run.transcript


def test_outside_numbers_whose_policy_refuses_them_never_reach_the_trunk_even_as_exhausted_target() -> (
    None
):
    config = configured(_with(_virtual("104", PREMIUM)), exhausted_extension="104")
    transcript = _no_input_until_exhausted(config)
    assert "play not_reachable + goodbye" in transcript
    assert not any(line.startswith("dial") for line in transcript)


def test_a_physical_extension_rings_only_a_device_never_a_raw_dial_string() -> None:
    for endpoint in (
        "PJSIP/carrier/sip:x@any-host",
        "Local/+33199000001@from-carrier",
        "Local/app~x@test-apps",
        "PJSIP/carrier",  # the trunk itself
        "SIP/anything",
    ):
        phone = Extension("101", ExtensionKind.PHYSICAL, "Amélie", endpoint=endpoint)
        run = play_through((press("0"),), _with(phone))
        assert not any(isinstance(c, Dial) for c in run.commands), endpoint
        assert _refusals(run.traces)[0]["reason"] == "endpoint_not_allowed"


def test_test_phones_ring_only_where_development_allows_them() -> None:
    phone = Extension("101", ExtensionKind.PHYSICAL, "Amélie", endpoint="Local/101@test-phones")
    config = _with(phone)
    refused = play_through((press("0"),), config)
    assert not any(isinstance(c, Dial) for c in refused.commands)
    allowed = play_through((press("0"),), config, FlowOptions(allow_test_phones=True))
    assert "dial Local/101@test-phones for 20s" + IN_BRIDGE in allowed.transcript


def test_an_outside_leg_is_marked_so_that_the_caps_apply_and_a_phone_is_not() -> None:
    outside = play_through((press("6"),))
    inside = play_through((press("0"),))
    assert [c.outside for c in outside.commands if isinstance(c, Dial)] == [True]
    assert [c.outside for c in inside.commands if isinstance(c, Dial)] == [False]


def test_a_leg_refused_by_a_cap_is_traced_with_its_reason_and_the_caller_goes_on() -> None:
    run = play_through((press("6"),))
    dial = next(c for c in run.commands if isinstance(c, Dial))
    run.feed(DialResult(dial.leg_id, DialStatus.REFUSED, "tenant_outbound_legs"))
    result = [t for t in run.traces if t.kind is TraceKind.TRANSFER_RESULT][-1]
    assert result.data == {"number": "104", "result": "refused", "reason": "tenant_outbound_legs"}
    assert not run.call.held.legs
    assert "play leave_message_for(Françoise Le Gall)" in run.transcript[-1]


def test_an_outside_call_is_cut_at_the_tenants_longest_outbound_call() -> None:
    limits = TenantLimits(max_outbound_call_s=600)
    run = play_through((press("6"), answered(0)), replace(BASE, limits=limits))
    assert run.transcript[-1] == "wait 600s for max_outbound_call"
    timer = run.call.held.timer
    assert timer is not None
    run.feed(TimerFired(timer))
    assert run.call.ended
    assert run.call.outcome is Outcome.TRANSFERRED
    assert run.transcript[-3:] == [
        "hang up PJSIP/+33199000104@carrier",
        "destroy bridge",
        "hang up",
    ]
    limit = next(t for t in run.traces if t.kind is TraceKind.LIMIT)
    assert limit.data == {"reason": "max_outbound_call_s", "seconds": 600}


def test_a_call_bridged_to_a_phone_has_no_time_limit() -> None:
    run = play_through((press("0"), answered(0)))
    assert run.call.held.timer is None
    run = play_through((press("0"), answered(0), HANGUP))
    assert run.call.ended
