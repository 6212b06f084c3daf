"""Every NATS subject, stream and service name Receptionist uses. No subject is written elsewhere.

Subjects that carry a tenant's data put the tenant id right after the prefix, so that NATS
permissions and wildcards can be scoped per tenant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
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


@lru_cache(maxsize=4096)  # built for every step of every call: a few tenants' at a time
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


VOICEMAIL_LEFT_ALL = f"{PREFIX}.events.*.voicemail.left"


# The durable consumer that turns call events into call_records rows (shared by every stasis).
CALL_RECORDS_CONSUMER = "call-records"


# --- request/reply services (nats.micro) ----------------------------------------------------


@dataclass(frozen=True)
class TenantRequest:
    """A request/reply endpoint about one tenant: `rcp.<service>.<tenant>.<operation>`, with one
    more token when a scope is set (parallel test runs or stacks sharing one NATS server).

    The responder takes the tenant from the subject, never from the payload (`rcp.messaging.
    endpoint`), so that what NATS lets a connection publish decides which tenants it can ask
    about, and a request cannot name one tenant in its subject and another in its body.
    """

    service: str
    operation: str

    def subject(self, tenant_id: UUID, scope: str = "") -> str:
        """Where a request about `tenant_id` is sent."""
        return self._with(_token(tenant_id), scope)

    def every_tenant(self, scope: str = "") -> str:
        """What the service subscribes to: this operation for every tenant."""
        return self._with("*", scope)

    def permitted(self) -> tuple[str, str]:
        """Subjects a NATS permission names for this operation: every tenant, unscoped and
        scoped."""
        return (self.every_tenant(), f"{self.every_tenant()}.*")

    def _with(self, tenant: str, scope: str) -> str:
        subject = f"{PREFIX}.{self.service}.{tenant}.{self.operation}"
        return f"{subject}.{_token(scope)}" if scope else subject


# Every request's subject is read (by `rcp.messaging.endpoint`, and by a service choosing how
# to run it): the recent ones are remembered, as there are few per tenant.
@lru_cache(maxsize=4096)
def request_tenant(subject: str) -> UUID | None:
    """The tenant a `TenantRequest` subject names, or None if it names none."""
    prefix, _, rest = subject.partition(".")
    _service, _, rest = rest.partition(".")
    tenant, _, operation = rest.partition(".")
    if prefix != PREFIX or not operation:
        return None
    try:
        tenant_id = UUID(tenant)
    except ValueError:
        return None
    # Only the canonical spelling, the one permissions name (`rcp.*.<tenant>.>`).
    return tenant_id if str(tenant_id) == tenant else None


DIRECTORY_SERVICE = "directory"
DIRECTORY_SEARCH = TenantRequest(DIRECTORY_SERVICE, "search")
DIRECTORY_REVERSE = TenantRequest(DIRECTORY_SERVICE, "reverse")

MEDIA_SERVICE = "media"
MEDIA_ENSURE_PROMPT = TenantRequest(MEDIA_SERVICE, "ensure")
MEDIA_INGEST_RECORDING = TenantRequest(MEDIA_SERVICE, "ingest")
MEDIA_INGEST_UPLOAD = TenantRequest(MEDIA_SERVICE, "upload")
MEDIA_FORGET = TenantRequest(MEDIA_SERVICE, "forget")
# The JetStream object store where requesters put audio for the media service to ingest
# (uploads reach 20 MB, beyond a NATS message's limit); objects expire if nobody takes them.
MEDIA_INBOX_BUCKET = "rcp-media-inbox"

# A bare echo service: the baseline that request/reply benchmarks and tests compare against.
ECHO_SERVICE = "echo"
ECHO = TenantRequest(ECHO_SERVICE, "echo")
