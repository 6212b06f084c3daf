"""The call limits one stasis node applies (rcp_stasis.limits): pure counting, no clock but
the one given."""

from __future__ import annotations

import uuid

from rcp.outbound import TenantLimits
from rcp_stasis.limits import CallLimits, LegRefusal

A, B = uuid.uuid4(), uuid.uuid4()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_tenant_at_its_inbound_cap_is_refused_until_a_call_ends() -> None:
    limits, caps = CallLimits(100), TenantLimits(max_inbound_calls=2)
    assert limits.admit_call(A, caps)
    assert limits.admit_call(A, caps)
    assert not limits.admit_call(A, caps)
    assert limits.admit_call(B, caps)  # another tenant is not held back
    limits.call_ended(A)
    assert limits.admit_call(A, caps)
    assert limits.calls(A) == 2


def test_a_call_taken_over_after_a_restart_is_counted_in_whatever_the_cap() -> None:
    limits, caps = CallLimits(100), TenantLimits(max_inbound_calls=1)
    assert limits.admit_call(A, caps)
    assert limits.admit_call(A, caps, force=True)
    assert limits.calls(A) == 2


def test_outside_legs_are_capped_per_tenant() -> None:
    limits, caps = CallLimits(100), TenantLimits(max_outbound_legs=2)
    assert limits.take_leg(A, caps) is None
    assert limits.take_leg(A, caps) is None
    assert limits.take_leg(A, caps) is LegRefusal.TENANT_OUTBOUND_LEGS
    assert limits.take_leg(B, caps) is None
    limits.leg_ended(A)
    assert limits.take_leg(A, caps) is None
    assert (limits.legs(A), limits.legs(B), limits.outbound_legs) == (2, 1, 3)


def test_the_node_caps_outside_legs_of_all_tenants_together() -> None:
    limits, caps = CallLimits(3), TenantLimits(max_outbound_legs=10)
    for tenant in (A, A, B):
        assert limits.take_leg(tenant, caps) is None
    assert limits.take_leg(B, caps) is LegRefusal.NODE_OUTBOUND_LEGS
    limits.leg_ended(A)
    assert limits.take_leg(B, caps) is None


def test_new_outside_legs_a_minute_are_capped_and_refill_over_the_minute() -> None:
    clock = Clock()
    limits = CallLimits(100, clock=clock)
    caps = TenantLimits(max_outbound_legs=100, max_outbound_legs_per_minute=3)
    for _ in range(3):
        assert limits.take_leg(A, caps) is None
        limits.leg_ended(A)
    assert limits.take_leg(A, caps) is LegRefusal.TENANT_OUTBOUND_RATE
    clock.now += 20  # a third of a minute: one leg more
    assert limits.take_leg(A, caps) is None
    assert limits.take_leg(A, caps) is LegRefusal.TENANT_OUTBOUND_RATE
    assert limits.take_leg(B, caps) is None  # each tenant has its own minute


def test_a_tenant_allowed_no_outside_legs_gets_none() -> None:
    limits = CallLimits(100)
    assert limits.take_leg(A, TenantLimits(max_outbound_legs=0)) is LegRefusal.TENANT_OUTBOUND_LEGS
    rate = TenantLimits(max_outbound_legs_per_minute=0)
    assert limits.take_leg(A, rate) is LegRefusal.TENANT_OUTBOUND_RATE


def test_a_refused_leg_counts_nothing_and_a_leg_ended_twice_counts_out_once() -> None:
    limits, caps = CallLimits(100), TenantLimits(max_outbound_legs=1)
    assert limits.take_leg(A, caps) is None
    assert limits.take_leg(A, caps) is LegRefusal.TENANT_OUTBOUND_LEGS
    limits.leg_ended(A)
    limits.leg_ended(A)
    assert (limits.legs(A), limits.outbound_legs) == (0, 0)
