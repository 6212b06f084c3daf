"""The domain's vocabulary: every closed set of values the services and the database share.

The admin API's schemas, the call flow and its configuration, and the database's CHECK
constraints all speak these words; `tests/test_vocabulary.py` holds the constraints of the
migrated database to exactly these values.

Each is a `StrEnum` whose values are its members' names in lower case
(`ExtensionKind.PHYSICAL == "physical"`). They are wire and database values: a member is
never renamed once published.
"""

from __future__ import annotations

from enum import StrEnum

# Whether a tenant's receptionist answers (a suspended one can be deleted).
TenantStatus = StrEnum("TenantStatus", "ACTIVE SUSPENDED")

# What an admin token reaches: every tenant, or one.
TokenScope = StrEnum("TokenScope", "CARRIER TENANT")

# A phone of the tenant's own (physical) or an outside number (virtual).
ExtensionKind = StrEnum("ExtensionKind", "PHYSICAL VIRTUAL")

# How a ring group rings its members.
RingStrategy = StrEnum("RingStrategy", "SIMULTANEOUS SEQUENTIAL")

# What a ring group does when nobody answered.
NoAnswerAction = StrEnum("NoAnswerAction", "MENU HANGUP VOICEMAIL EXTENSION")

# What pressing a key of the menu does.
KeyAction = StrEnum("KeyAction", "DIAL_BY_NAME PLAY_ANNOUNCEMENT TRANSFER OPEN_MENU")

# What a transfer key points at (key_assignments.target_kind).
TargetKind = StrEnum("TargetKind", "EXTENSION VIRTUAL_EXTENSION RING_GROUP CONFERENCE VOICEMAIL")

# Where a prompt's audio comes from.
PromptSource = StrEnum("PromptSource", "TTS UPLOAD RECORDING")

# Whether a prompt's audio can be played.
PromptStatus = StrEnum("PromptStatus", "PENDING READY FAILED")

# Whether a voicemail message was listened to.
VoicemailStatus = StrEnum("VoicemailStatus", "NEW READ")

# Where a voicemail message's email stands: to send, sent, nothing to send (the extension has
# no address, or the message was left before email existed), given up.
EmailStatus = StrEnum("EmailStatus", "PENDING SENT NONE FAILED")

# How a call ended.
Outcome = StrEnum(
    "Outcome",
    "TRANSFERRED VOICEMAIL CONFERENCE ANNOUNCEMENT CALLER_HANGUP NO_INPUT INVALID_INPUT FAILED",
)

# What an outside number is, as the numbering plan tells (phonenumbers' `PhoneNumberType`, in
# lower case): the carrier's outbound policy allows some of them (`rcp.outbound`).
NumberType = StrEnum(
    "NumberType",
    "FIXED_LINE MOBILE FIXED_LINE_OR_MOBILE TOLL_FREE PREMIUM_RATE SHARED_COST VOIP "
    "PERSONAL_NUMBER PAGER UAN VOICEMAIL UNKNOWN",
)

# What a person may do: a tenant's admin (everything of the tenant, its users included), editor
# (its configuration, not its users) or viewer (reads, listens to voicemail); the carrier's
# operator (everything of every tenant) or support (reads everything, changes nothing).
UserRole = StrEnum("UserRole", "ADMIN EDITOR VIEWER OPERATOR SUPPORT")

# The language a person reads the web manager and its emails in.
UserLanguage = StrEnum("UserLanguage", "FR EN")

# What a one-time link sent by email does.
LinkPurpose = StrEnum("LinkPurpose", "INVITATION PASSWORD_RESET")

# What a tenant's manual override of its schedule forces (schedules.override_mode).
OverrideMode = StrEnum("OverrideMode", "OPEN CLOSED")
