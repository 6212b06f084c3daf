"""The stasis service's ports: what it needs from Asterisk, the directory and the media service.

Each is a Protocol with its real adapter beside it (ARI: `rcp_stasis.ari`; the directory, media
and voicemail adapters speak those services' NATS contracts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import field
from typing import Protocol
from uuid import UUID

from rcp.callflow.events import (
    DialResult,
    Hangup,
    NameMatch,
    RecordingFailed,
    RecordingFinished,
)
from rcp.callflow.prompts import Playable
from rcp.values import Value

# --- Asterisk -------------------------------------------------------------------------------


class KeyPressed(Value):
    """The caller pressed a key; `received`: when the press reached the service
    (time.monotonic()), to time what follows it."""

    digit: str
    received: float = field(compare=False, repr=False)


class PlaybackEnded(Value):
    """A playback, by the id the call started it under, ended: played through, stopped, or
    `failed` (Asterisk could not play it)."""

    playback_id: str
    failed: bool = False


AsteriskEvent = (
    KeyPressed | PlaybackEnded | DialResult | Hangup | RecordingFinished | RecordingFailed
)
"""What the adapter tells a call of what happened to it, in the flow's words: a key, a
playback's end, how a leg's ringing ended (`DialResult`: its answer, or why it never
answered), the caller or an answered leg gone (`Hangup`), a recording's end (its length
measured). Only the playbacks' ids are Asterisk's, since a playback may be played again
under another id."""


class AriCallPort(Protocol):
    """One call in the Stasis application: its events in order, and what can be done to it.

    Ids (playbacks, legs, bridges, recordings) are chosen by the caller of these methods.
    Operations on something that has just gone (a playback that finished, a leg that hung
    up) are not errors: they return False.
    """

    channel_id: str
    args: tuple[str, ...]
    caller_number: str | None

    def events(self) -> AsyncIterator[AsteriskEvent]:
        """What happens to the call (caller and legs), in the order Asterisk said it."""
        ...

    async def answer(self) -> None:
        """Answer the caller's channel."""

    async def play(self, playback_id: str, media: Sequence[str]) -> None:
        """Play media URIs one after the other as one playback."""

    async def stop_playback(self, playback_id: str) -> bool:
        """Stop a playback; False if it had already finished."""

    async def dial(
        self,
        leg_id: str,
        endpoint: str,
        timeout_s: int,
        caller_id: str | None = None,
        bridge_id: str | None = None,
    ) -> None:
        """Create a leg to `endpoint` in the application and ring it (Dial events follow);
        with `bridge_id`, in that mixing bridge with the caller (made, with the caller in it,
        when the call has none by that id yet)."""

    async def ring(self) -> None:
        """Tell the caller's line that the callee rings (in-band ringback on an answered
        line, which the first sound from the caller's bridge ends)."""

    async def stop_ringing(self) -> None:
        """Stop what `ring` started."""

    async def hang_up_leg(self, leg_id: str) -> bool:
        """Hang up one of the call's legs; False if it was gone."""

    async def bridge(self, bridge_id: str, leg_id: str) -> None:
        """Put the caller and a leg together in a new mixing bridge."""

    async def destroy_bridge(self, bridge_id: str) -> bool:
        """Destroy one of the call's bridges; False if it was gone."""

    async def join_conference(self, conference_id: str) -> None:
        """Put the caller into a shared mixing bridge, created when missing."""

    async def leave_conference(self, conference_id: str) -> None:
        """Take the caller out of a shared bridge, destroyed once nobody is left."""

    async def record(
        self,
        name: str,
        *,
        max_duration_s: int,
        max_silence_s: int,
        beep: bool,
        terminate_on: str,
    ) -> None:
        """Record the caller (RecordingFinished or RecordingFailed follows)."""

    async def stop_recording(self, name: str) -> bool:
        """Stop a recording and keep it; False if it had already stopped."""

    async def recording_stored(self, name: str) -> bool:
        """Whether Asterisk holds a finished recording by that name."""
        ...

    async def variable(self, name: str) -> str | None:
        """A channel variable of the caller's channel (None when unset or empty)."""
        ...

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable on the caller's channel ("" clears it)."""
        ...

    async def continue_in_dialplan(self) -> bool:
        """Hand the caller back to the dialplan at the next priority."""

    async def hang_up(self, reason: str = "normal") -> bool:
        """Hang up the caller (`reason` as ARI names causes); False if already gone."""

    async def release(self) -> None:
        """Stop, hang up and destroy everything the call still holds, the caller included."""


CallHandler = Callable[[AriCallPort], Awaitable[None]]
"""Runs one call, in a task of its own, from StasisStart until it returns."""


class AriPort(Protocol):
    """The Stasis application's connection to Asterisk."""

    @property
    def connected(self) -> bool:
        """Whether the event WebSocket is up now."""
        ...

    async def wait_connected(self) -> None:
        """Return once the event WebSocket is up."""

    async def channels_in_app(self) -> list[str]:
        """Ids of the channels in the application now (to reconcile after a reconnect)."""
        ...


# --- directory, media, voicemail (their adapters: directory.py, media.py, voicemail.py) ------


class DirectoryPage(Value):
    """One page of dial-by-name matches, and where the next page starts (None: no more)."""

    matches: tuple[NameMatch, ...]
    total: int
    next_cursor: str | None = None


class DirectoryPort(Protocol):
    """Dial by name: the extensions of a tenant whose name matches keypad digits."""

    async def search(
        self, tenant_id: UUID, digits: str, page_size: int, cursor: str | None = None
    ) -> DirectoryPage:
        """One page of matches (none for digits that spell nothing); raises ReceptionistError
        when the directory cannot answer."""
        ...


class PromptPort(Protocol):
    """Makes prompts playable: a URI Asterisk can play for each piece of a prompt."""

    async def uri_for(self, tenant_id: UUID, piece: Playable, budget_s: float | None = None) -> str:
        """A `sound:http://...` (or `tone:...`) URI; raises ReceptionistError on failure, or
        when it cannot be had within `budget_s` (the adapter's own budget when None)."""
        ...

    def forget(self, tenant_id: UUID) -> None:
        """Drop what is cached for a tenant's own prompts (they may have changed)."""


class VoicemailMessage(Value):
    """A message a caller left: the recording Asterisk holds, for whom, from whom."""

    tenant_id: UUID
    call_id: str
    recording: str
    extension_number: str
    caller_number: str | None


class RecordingPort(Protocol):
    """Stores a voicemail: the recording's audio through the media service, then its message."""

    async def discard(self, recording: str) -> None:
        """Delete a recording that is no message (gone already is fine)."""

    async def save(self, message: VoicemailMessage) -> UUID | None:
        """The new voicemail message's id, or None if the recording held no audio (nothing to
        keep); raises ReceptionistError when it cannot be stored."""
        ...


class StoredRecordings(Protocol):
    """Asterisk's stored recordings (the ARI adapter)."""

    async def recording_file(self, name: str) -> bytes | None:
        """The recording's file, or None if Asterisk has none by that name."""
        ...

    async def delete_recording(self, name: str) -> None:
        """Delete a stored recording (gone already is fine)."""
