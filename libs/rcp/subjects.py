"""Every NATS subject, stream and service name Receptionist uses. No subject is written elsewhere.

Subjects that carry a tenant's data put the tenant id right after the prefix, so that NATS
permissions and wildcards can be scoped per tenant.
"""

from __future__ import annotations

import re
from uuid import UUID

PREFIX = "rcp"

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def _token(value: str | UUID) -> str:
    text = str(value)
    if not _TOKEN.match(text):
        raise ValueError(f"{text!r} cannot be a NATS subject token")
    return text


# --- configuration changes (published by admin after each committed write) ---------------


def config_changed(tenant_id: UUID) -> str:
    """A tenant's configuration changed."""
    return f"{PREFIX}.config.{_token(tenant_id)}.changed"


CONFIG_CHANGED_ALL = f"{PREFIX}.config.*.changed"


_CONFIG_CHANGED = re.compile(rf"{PREFIX}\.config\.([^.]+)\.changed")


def config_changed_tenant(subject: str) -> UUID | None:
    """The tenant a `config_changed` subject names, or None if it is not such a subject."""
    match = _CONFIG_CHANGED.fullmatch(subject)
    if match is None:
        return None
    try:
        return UUID(match.group(1))
    except ValueError:
        return None


# --- call events (JetStream) ---------------------------------------------------------------

EVENTS_STREAM = "RCP_EVENTS"
EVENTS_ALL = f"{PREFIX}.events.>"


def call_event(tenant_id: UUID, kind: str) -> str:
    """An event in a call's life (started, key, transfer, voicemail, ended...)."""
    return f"{PREFIX}.events.{_token(tenant_id)}.call.{_token(kind)}"


def tenant_events(tenant_id: UUID) -> str:
    """Every event of one tenant (for a consumer's filter)."""
    return f"{PREFIX}.events.{_token(tenant_id)}.>"


CALL_EVENTS_ALL = f"{PREFIX}.events.*.call.*"


def tenant_call_events(tenant_id: UUID) -> str:
    """Every call event of one tenant (for a consumer's filter)."""
    return f"{PREFIX}.events.{_token(tenant_id)}.call.*"


def voicemail_left(tenant_id: UUID) -> str:
    """A caller left a voicemail message (`rcp.contracts.VoicemailLeft`)."""
    return f"{PREFIX}.events.{_token(tenant_id)}.voicemail.left"


# The durable consumer that turns call events into call_records rows (shared by every stasis).
CALL_RECORDS_CONSUMER = "call-records"


# --- request/reply services (nats.micro) ----------------------------------------------------

DIRECTORY_SERVICE = "directory"
DIRECTORY_SEARCH = f"{PREFIX}.directory.search"
DIRECTORY_REVERSE = f"{PREFIX}.directory.reverse"

MEDIA_SERVICE = "media"
MEDIA_ENSURE_PROMPT = f"{PREFIX}.media.ensure"
MEDIA_INGEST_RECORDING = f"{PREFIX}.media.ingest"
MEDIA_INGEST_UPLOAD = f"{PREFIX}.media.upload"
MEDIA_FORGET = f"{PREFIX}.media.forget"
# The JetStream object store where requesters put audio for the media service to ingest
# (uploads reach 20 MB, beyond a NATS message's limit); objects expire if nobody takes them.
MEDIA_INBOX_BUCKET = "rcp-media-inbox"


def scoped(subject: str, scope: str) -> str:
    """`subject`, with one more token when `scope` is set, so that parallel test runs (or stacks)
    sharing one NATS server never answer each other's requests."""
    return f"{subject}.{_token(scope)}" if scope else subject


# A bare echo service: the baseline that request/reply benchmarks and tests compare against.
ECHO_SERVICE = "echo"
ECHO = f"{PREFIX}.echo"
