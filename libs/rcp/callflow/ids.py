"""The ids stasis gives what it makes in Asterisk: built and recognised here, and only here.

What a call makes (playbacks, legs, bridges, look-ups, recordings) is named
`<call prefix>-<what>-<n>`: the call prefix is the caller's channel id (or, for a call picked
up again after a restart, that id and a fresh mark), and `n` counts within the call, so ids
never collide. A conference bridge is named after its tenant and room, so that every caller
of a room joins the same bridge whichever call made it.

After a restart, stasis tells the channels it finds apart by these names alone: a leg it
dialled carries `-leg-`, a conference bridge `-conference-`; anything else is a caller.
"""

from __future__ import annotations

from uuid import UUID

LEG = "leg"
LEG_MARK = f"-{LEG}-"
CONFERENCE_MARK = "-conference-"


def call_prefix(call_id: str, id_prefix: str = "") -> str:
    """What begins the ids of one call's things."""
    return id_prefix or call_id


def resumed_prefix(channel_id: str, mark: str) -> str:
    """The prefix of a call picked up again: its new ids never meet those of before."""
    return f"{channel_id}-r{mark}"


def of_call(prefix: str, what: str, number: int) -> str:
    """The id of the `number`th thing a call made (`what`: playback, leg, bridge...)."""
    return f"{prefix}-{what}-{number}"


def conference(tenant_id: UUID, room_number: str) -> str:
    """The bridge of a tenant's conference room."""
    return f"{tenant_id}{CONFERENCE_MARK}{room_number}"


def is_leg(channel_id: str) -> bool:
    """Whether a channel is a leg stasis dialled (not a caller)."""
    return LEG_MARK in channel_id


def is_conference(bridge_id: str) -> bool:
    """Whether a bridge is a conference room's."""
    return CONFERENCE_MARK in bridge_id
