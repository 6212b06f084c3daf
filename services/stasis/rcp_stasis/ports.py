"""The stasis service's ports: what it needs from Asterisk, the directory and the media service.

Each is a Protocol with its real adapter beside it (ARI: `rcp_stasis.ari`). The directory and
media adapters speak their services' NATS contracts; until those exist the call flow only
depends on these shapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from rcp_stasis.events import NameMatch
from rcp_stasis.prompts import Playable

# --- Asterisk -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AriEvent:
    """One ARI event about a call: its type, the channel it concerns, and its JSON."""

    type: str
    channel_id: str | None
    data: Mapping[str, Any] = field(repr=False)

    @property
    def digit(self) -> str | None:
        """ChannelDtmfReceived: the key pressed."""
        digit = self.data.get("digit")
        return digit if isinstance(digit, str) else None

    @property
    def dial_status(self) -> str | None:
        """Dial: "" while ringing, then ANSWER, BUSY, NOANSWER, CHANUNAVAIL, CANCEL..."""
        status = self.data.get("dialstatus")
        return status if isinstance(status, str) else None

    @property
    def playback_id(self) -> str | None:
        """Playback events: the playback's id."""
        return _nested_id(self.data, "playback", "id")

    @property
    def recording_name(self) -> str | None:
        """Recording events: the recording's name."""
        return _nested_id(self.data, "recording", "name")

    @property
    def recording_duration_s(self) -> float | None:
        """RecordingFinished: how long the recording is, in seconds."""
        recording = self.data.get("recording")
        duration = recording.get("duration") if isinstance(recording, Mapping) else None
        return float(duration) if isinstance(duration, int | float) else None


def _nested_id(data: Mapping[str, Any], outer: str, key: str) -> str | None:
    inner = data.get(outer)
    value = inner.get(key) if isinstance(inner, Mapping) else None
    return value if isinstance(value, str) else None


class AriCallPort(Protocol):
    """One call in the Stasis application: its events in order, and what can be done to it.

    Ids (playbacks, legs, bridges, recordings) are chosen by the caller of these methods.
    Operations on something that has just gone (a playback that finished, a leg that hung
    up) are not errors: they return False.
    """

    channel_id: str
    args: tuple[str, ...]
    caller_number: str | None

    def events(self) -> AsyncIterator[AriEvent]:
        """This call's events, in the order Asterisk sent them (caller and legs)."""
        ...

    async def answer(self) -> None:
        """Answer the caller's channel."""

    async def play(self, playback_id: str, media: Sequence[str]) -> None:
        """Play media URIs one after the other as one playback."""

    async def stop_playback(self, playback_id: str) -> bool:
        """Stop a playback; False if it had already finished."""

    async def dial(
        self, leg_id: str, endpoint: str, timeout_s: int, caller_id: str | None = None
    ) -> None:
        """Create a leg to `endpoint` in the application and ring it (Dial events follow)."""

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

    async def continue_in_dialplan(self) -> bool:
        """Hand the caller back to the dialplan at the next priority."""

    async def hang_up(self) -> bool:
        """Hang up the caller; False if already gone."""

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


# --- directory and media (their NATS adapters come with those services' contracts) -----------


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    """One page of dial-by-name matches."""

    matches: tuple[NameMatch, ...]
    total: int
    next_page: int | None


class DirectoryPort(Protocol):
    """Dial by name: the extensions of a tenant whose name matches keypad digits."""

    async def search(self, tenant_id: UUID, digits: str, page: int) -> DirectoryPage:
        """One page of matches; raises ReceptionistError when the directory cannot answer."""
        ...


class PromptPort(Protocol):
    """Makes prompts playable: a URI Asterisk can play for each piece of a prompt."""

    async def uri_for(self, tenant_id: UUID, piece: Playable) -> str:
        """A `sound:http://...` (or `tone:...`) URI; raises ReceptionistError on failure."""
        ...


class RecordingPort(Protocol):
    """Stores a recording Asterisk made as a tenant prompt (a voicemail message's audio)."""

    async def ingest(self, tenant_id: UUID, recording_name: str) -> UUID:
        """The prompt id the recording is stored under."""
        ...
