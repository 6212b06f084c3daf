"""The domain's vocabulary: every closed set of values the services and the database share.

The admin API's schemas, the call flow and its configuration, and the database's CHECK
constraints all speak these words; `tests/test_vocabulary.py` holds the constraints of the
migrated database to exactly these values. Wire values: never renamed once published.
"""

from __future__ import annotations

from enum import StrEnum


class TenantStatus(StrEnum):
    """Whether a tenant's receptionist answers (a suspended one can be deleted)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class TokenScope(StrEnum):
    """What an admin token reaches: every tenant, or one."""

    CARRIER = "carrier"
    TENANT = "tenant"


class ExtensionKind(StrEnum):
    """A phone of the tenant's own (physical) or an outside number (virtual)."""

    PHYSICAL = "physical"
    VIRTUAL = "virtual"


class RingStrategy(StrEnum):
    """How a ring group rings its members."""

    SIMULTANEOUS = "simultaneous"
    SEQUENTIAL = "sequential"


class NoAnswerAction(StrEnum):
    """What a ring group does when nobody answered."""

    MENU = "menu"
    HANGUP = "hangup"
    VOICEMAIL = "voicemail"
    EXTENSION = "extension"


class KeyAction(StrEnum):
    """What pressing a key of the menu does."""

    DIAL_BY_NAME = "dial_by_name"
    PLAY_ANNOUNCEMENT = "play_announcement"
    TRANSFER = "transfer"


class TargetKind(StrEnum):
    """What a transfer key points at (key_assignments.target_kind)."""

    EXTENSION = "extension"
    VIRTUAL_EXTENSION = "virtual_extension"
    RING_GROUP = "ring_group"
    CONFERENCE = "conference"
    VOICEMAIL = "voicemail"


class PromptSource(StrEnum):
    """Where a prompt's audio comes from."""

    TTS = "tts"
    UPLOAD = "upload"
    RECORDING = "recording"


class PromptStatus(StrEnum):
    """Whether a prompt's audio can be played."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class VoicemailStatus(StrEnum):
    """Whether a voicemail message was listened to."""

    NEW = "new"
    READ = "read"


class Outcome(StrEnum):
    """How a call ended."""

    TRANSFERRED = "transferred"
    VOICEMAIL = "voicemail"
    CONFERENCE = "conference"
    ANNOUNCEMENT = "announcement"
    CALLER_HANGUP = "caller_hangup"
    NO_INPUT = "no_input"
    INVALID_INPUT = "invalid_input"
    FAILED = "failed"
