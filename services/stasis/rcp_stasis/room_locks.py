"""Conference rooms that keep getting wrong PINs are locked for a while, on this node.

A caller gets three tries per call (the call flow hangs up after them); someone who calls again
and again could still try every PIN of a room. So each room's wrong PINs are counted over a
sliding window, across calls: past `max_failures` of them in `window_s`, the room is locked
for `lock_s`, and every PIN typed meanwhile is refused unchecked, the right one too (the caller
hears that the room is locked, and the menu again). A right PIN does not clear the count, or an
attacker could mix in calls of the room's own users.

Counted per node, in memory, like the call limits (`rcp_stasis.limits`, and for the same
reasons: the check sits on a call's path and cannot fail). With N telephony nodes taking a
tenant's calls, a guesser gets N times the failures before every node has locked the room;
the lock still divides a guesser's speed by orders of magnitude (three guesses a call, a few
calls a window), and what it costs is counted and logged (`rcp_stasis_conference_pins_total`,
`conference.room_locked`). Locking a room lets someone who knows its number keep it closed for
a while: a room's users then hear that it is locked, which the carrier sees in the log.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

MAX_ROOMS = 100_000
"""Rooms whose failures are remembered at most (the quietest are forgotten first)."""

RoomKey = tuple[UUID, str]


@dataclass(frozen=True)
class LockPolicy:
    """How many wrong PINs, over how long, lock a room, and for how long."""

    max_failures: int = 10
    window_s: float = 600.0
    lock_s: float = 900.0


class RoomLocks:
    """Wrong PINs by room over the last window, and the rooms locked now."""

    def __init__(
        self, policy: LockPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or LockPolicy()
        self._clock = clock
        self._failures: dict[RoomKey, deque[float]] = {}
        self._locked_until: dict[RoomKey, float] = {}

    def locked(self, tenant_id: UUID, room: str) -> bool:
        """Whether the room refuses every PIN now."""
        key = (tenant_id, room)
        until = self._locked_until.get(key)
        if until is None:
            return False
        if self._clock() < until:
            return True
        del self._locked_until[key]
        return False

    def failed(self, tenant_id: UUID, room: str) -> bool:
        """Count a wrong PIN; True if it locks the room."""
        now = self._clock()
        key = (tenant_id, room)
        failures = self._failures.get(key)
        if failures is None:
            if len(self._failures) >= MAX_ROOMS:
                self._forget(now)
            failures = self._failures[key] = deque()
        failures.append(now)
        while failures and failures[0] <= now - self.policy.window_s:
            failures.popleft()
        if len(failures) < self.policy.max_failures:
            return False
        if len(self._locked_until) >= MAX_ROOMS:
            for locked in [k for k, until in self._locked_until.items() if until <= now]:
                del self._locked_until[locked]
        self._locked_until[key] = now + self.policy.lock_s
        failures.clear()  # counted afresh once the lock is over
        return True

    def _forget(self, now: float) -> None:
        # Rooms whose last failure left the window count nothing any more; if every room is
        # still counting, the one whose last failure is the oldest goes.
        stale = [
            k for k, f in self._failures.items() if not f or f[-1] <= now - self.policy.window_s
        ]
        for key in stale or [min(self._failures, key=lambda k: self._failures[k][-1])]:
            del self._failures[key]
