"""Settings of the stasis service (environment variables RCP_*)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from rcp import subjects
from rcp.callflow.config import FlowOptions
from rcp.settings import (
    AriSettings,
    CommonSettings,
    DirectoryScopeSettings,
    MediaScopeSettings,
    TrunkSettings,
)

from rcp_stasis.room_locks import LockPolicy

# The flow's and the room locks' own defaults are the settings' defaults.
FLOW_DEFAULTS = FlowOptions()
LOCK_DEFAULTS = LockPolicy()

# What it takes Asterisk to start a playback once asked (a local file; generous).
PLAYBACK_START_S = 0.5


class CallRecordsSettings(CommonSettings):
    """Where call records are written from: the durable consumer of the call events (the
    call records service's, `rcp-call-records`; and stasis's when told to take no calls)."""

    stasis_call_records_durable: str = Field(
        default=subjects.CALL_RECORDS_CONSUMER, pattern=r"^[A-Za-z0-9_-]{1,64}$"
    )
    """The JetStream durable consumer that writes call records."""

    stasis_call_records_from_start: bool = Field(default=True)
    """A call records consumer created anew first writes every event the stream retains; off, only
    those published after it (tests, sharing one NATS)."""


class Settings(
    AriSettings, TrunkSettings, MediaScopeSettings, DirectoryScopeSettings, CallRecordsSettings
):
    """The stasis service's settings."""

    service_name: ClassVar[str] = "stasis"
    default_nats_user: ClassVar[str] = "stasis"
    default_ops_port: ClassVar[int] = 9101

    stasis_take_calls: bool = Field(default=True)
    """Connect to the Stasis app RCP_ARI_APP and take its calls (off: only the call records consumer
    runs, as `rcp-call-records` does). Taking calls, stasis writes no call records:
    `rcp-call-records` does, in a process of its own."""

    database_pool_min: int = Field(default=0, ge=0, le=100)
    """Connections opened at start: none, so that stasis starts and takes calls from the
    configuration store while PostgreSQL is away (it reads it only for a tenant the store lacks, and
    writes voicemail rows, which wait for it)."""

    stasis_voicemail_max_s: int = Field(default=FLOW_DEFAULTS.voicemail_max_s, ge=10, le=600)
    stasis_max_outbound_legs: int = Field(default=200, ge=0, le=100_000)
    """Outside legs (through the carrier's trunk) this node may have ringing or bridged at once, all
    tenants together; past it an outside leg is not dialled."""

    stasis_pin_lock_failures: int = Field(default=LOCK_DEFAULTS.max_failures, ge=3, le=1000)
    """Wrong PINs (across calls) that lock a conference room on this node."""

    stasis_pin_lock_window_s: float = Field(default=LOCK_DEFAULTS.window_s, ge=10, le=86_400)
    """The time over which a room's wrong PINs are counted."""

    stasis_pin_lock_s: float = Field(default=LOCK_DEFAULTS.lock_s, ge=10, le=86_400)
    """How long a locked room refuses every PIN."""

    stasis_sweep_interval_s: float = Field(default=30.0, gt=0, le=3600)
    """How often legs left in the application by no call are looked for; one seen at two sweeps in a
    row is hung up."""

    stasis_drain_grace_s: float = Field(default=60.0, ge=0, le=3600)
    """On SIGTERM, how long calls under way may go on before they are hung up."""

    stasis_wait_budget_s: float = Field(default=3.0, ge=1.0, le=30)
    """The longest a caller may hear silence because a dependency (directory, media) is slow or
    down: a request and its retry fit in it, with time left to start what the caller hears next (a
    stand-in prompt Asterisk has locally, if need be)."""

    stasis_directory_timeout_s: float = Field(default=1.5, gt=0, le=30)
    """How long one directory search may take."""

    stasis_media_timeout_s: float = Field(default=2.0, gt=0, le=60)
    """How long one request for a prompt (rendered on the spot if new) may take."""

    stasis_asterisk_log_rotation_s: float = Field(default=86_400.0, ge=0)
    """How often the stasis service has its Asterisk rotate its log files (which keep a week of
    them); 0: never (another tool rotates them)."""

    ari_reconnect_min_s: float = Field(default=0.5, gt=0, le=60)
    ari_reconnect_max_s: float = Field(default=30.0, gt=0, le=600)
    ari_max_connections: int = Field(default=50, ge=1, le=1000)
    ari_request_timeout_s: float = Field(default=10.0, gt=0, le=120)
    ari_rest_over_websocket: bool = Field(default=True)
    """Send ARI requests on the event WebSocket when Asterisk answers there (22.3 and later);
    off: always over HTTP."""

    @property
    def request_budget_s(self) -> float:
        """What a request on a caller's path may take, retry included: the wait budget less
        the time to start playing what comes next."""
        return self.stasis_wait_budget_s - PLAYBACK_START_S

    def flow_options(self) -> FlowOptions:
        """The call flow's service-wide knobs."""
        return FlowOptions(
            trunk_dial_template=self.stasis_trunk_dial_template,
            voicemail_max_s=self.stasis_voicemail_max_s,
            allow_test_phones=self.allow_test_phones,
            reserved_endpoints=self.reserved_endpoints,
        )

    def lock_policy(self) -> LockPolicy:
        """When a conference room that keeps getting wrong PINs is locked."""
        return LockPolicy(
            max_failures=self.stasis_pin_lock_failures,
            window_s=self.stasis_pin_lock_window_s,
            lock_s=self.stasis_pin_lock_s,
        )
