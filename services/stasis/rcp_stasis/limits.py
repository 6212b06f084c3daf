"""The call limits a stasis node applies: each tenant's caps on its calls here, and the node's.

Counted per node, in memory, on purpose. Every check sits on a call's path (each call taken,
each outside leg dialled and released); in memory it costs a dictionary look-up, cannot fail,
and cannot leak a count past the call that took it. Cluster-wide counts (a JetStream KV
bucket with compare-and-set) would add two NATS round trips to each leg, a policy for when
NATS does not answer (refuse every outside call, or allow all of them), and a way to give back
the counts of a node that died with its calls. So a tenant's caps apply on each node: with N
telephony nodes sharing a carrier's traffic, a tenant may have up to N times its cap at once
in all. Carriers set a tenant's caps to what they want across the cluster divided by the
number of nodes that take its calls (rounded up), and the node's own `max_outbound_legs` to
bound what one node may ever send to the trunk (see the README, "Toll fraud and limits").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from rcp.outbound import TenantLimits

MAX_RATE_BUCKETS = 10_000
MINUTE_S = 60.0


class LegRefusal(StrEnum):
    """Why an outside leg was not dialled."""

    NODE_OUTBOUND_LEGS = "node_outbound_legs"
    TENANT_OUTBOUND_LEGS = "tenant_outbound_legs"
    TENANT_OUTBOUND_RATE = "tenant_outbound_rate"


@dataclass
class _Bucket:
    """A token bucket: `tokens` left at `updated` (seconds, the limiter's clock)."""

    tokens: float
    updated: float


class CallLimits:
    """Counts each tenant's calls and outside legs on this node, and the node's outside legs."""

    def __init__(self, max_outbound_legs: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._node_max_legs = max_outbound_legs
        self._clock = clock
        self._calls: dict[UUID, int] = {}
        self._legs: dict[UUID, int] = {}
        self._buckets: dict[UUID, _Bucket] = {}
        self.outbound_legs = 0
        """Outside legs ringing or bridged on this node now."""

    def admit_call(self, tenant_id: UUID, limits: TenantLimits, *, force: bool = False) -> bool:
        """Count a call of the tenant in, unless it already has its cap (`force`: a call taken
        over from a stasis that died is in already); False if refused."""
        calls = self._calls.get(tenant_id, 0)
        if calls >= limits.max_inbound_calls and not force:
            return False
        self._calls[tenant_id] = calls + 1
        return True

    def call_ended(self, tenant_id: UUID) -> None:
        """A call counted in by `admit_call` ended."""
        _decrement(self._calls, tenant_id)

    def calls(self, tenant_id: UUID) -> int:
        """The tenant's calls on this node now."""
        return self._calls.get(tenant_id, 0)

    def take_leg(self, tenant_id: UUID, limits: TenantLimits) -> LegRefusal | None:
        """Count an outside leg in, or say which cap refuses it."""
        if self.outbound_legs >= self._node_max_legs:
            return LegRefusal.NODE_OUTBOUND_LEGS
        legs = self._legs.get(tenant_id, 0)
        if legs >= limits.max_outbound_legs:
            return LegRefusal.TENANT_OUTBOUND_LEGS
        if not self._take_token(tenant_id, limits.max_outbound_legs_per_minute):
            return LegRefusal.TENANT_OUTBOUND_RATE
        self._legs[tenant_id] = legs + 1
        self.outbound_legs += 1
        return None

    def leg_ended(self, tenant_id: UUID) -> None:
        """An outside leg counted in by `take_leg` ended (or was never created)."""
        if _decrement(self._legs, tenant_id):
            self.outbound_legs -= 1

    def legs(self, tenant_id: UUID) -> int:
        """The tenant's outside legs on this node now."""
        return self._legs.get(tenant_id, 0)

    def _take_token(self, tenant_id: UUID, per_minute: int) -> bool:
        """A token bucket of `per_minute` tokens, refilled evenly over a minute."""
        now = self._clock()
        bucket = self._buckets.get(tenant_id)
        if bucket is None:
            if len(self._buckets) >= MAX_RATE_BUCKETS:
                self._forget_full_buckets(now)
            bucket = self._buckets[tenant_id] = _Bucket(float(per_minute), now)
        refill = (now - bucket.updated) * per_minute / MINUTE_S
        bucket.tokens = min(per_minute, bucket.tokens + refill)
        bucket.updated = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket untouched for a minute is full again: forgetting it changes nothing.
        for tenant_id in [t for t, b in self._buckets.items() if now - b.updated >= MINUTE_S]:
            del self._buckets[tenant_id]


def _decrement(counts: dict[UUID, int], tenant_id: UUID) -> bool:
    count = counts.get(tenant_id, 0)
    if count <= 0:
        return False
    if count == 1:
        del counts[tenant_id]
    else:
        counts[tenant_id] = count - 1
    return True
