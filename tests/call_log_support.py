"""Call records as the stasis service writes them: each call's events, in the order the call
flow publishes them, applied by the call records consumer's own writer (`CallRecords`)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from rcp.contracts import CallEvent
from rcp_stasis.call_records import Applied, CallRecords

# The stream sequence the consumer would see: unique across every test of the run.
_SEQUENCE = itertools.count(1)

Step = tuple[float, str, dict[str, Any]]  # seconds after the start, kind, data


def voicemail_after_dial_by_name(caller: str = "+33612345678") -> list[Step]:
    """Greeting, key 1, spelled 533, found 102, no answer after 20 s, a 34 s message."""
    return [
        (0, "started", {"called_number": "+33199000001", "caller_number": caller}),
        (0, "answered", {}),
        (0.1, "menu", {"reason": "greeting", "failures": 0, "menu": "Accueil"}),
        (3.3, "key", {"digit": "1", "action": "dial_by_name"}),
        (6.0, "lookup", {"digits": "533", "page": 0}),
        (6.2, "lookup_result", {"total": 1, "page": 0, "heard": 1}),
        (8.0, "transfer", {"kind": "extension", "number": "102", "strategy": "simultaneous",
                           "members": "102"}),
        (28.0, "transfer_result", {"number": "102", "result": "no_answer"}),
        (28.0, "voicemail", {"number": "102"}),
        (64.0, "recording", {"saved": True, "duration_s": 34}),
        (65.0, "ended", {"outcome": "voicemail", "by": "caller"}),
    ]  # fmt: skip


def transferred(caller: str = "+33612345678", number: str = "101") -> list[Step]:
    """Key 0, the extension answers after 4 s, they talk a minute."""
    return [
        (0, "started", {"called_number": "+33199000001", "caller_number": caller}),
        (0, "answered", {}),
        (0.1, "menu", {"reason": "greeting", "failures": 0, "menu": "Accueil"}),
        (2.0, "key", {"digit": "0", "action": "transfer", "kind": "extension", "number": number}),
        (2.0, "transfer", {"kind": "extension", "number": number, "strategy": "simultaneous",
                           "members": number}),
        (6.0, "transfer_result", {"number": number, "result": "answered"}),
        (6.0, "bridged", {"number": number}),
        (66.0, "ended", {"outcome": "transferred", "by": "caller"}),
    ]  # fmt: skip


def hung_up(caller: str | None = "+33612345678") -> list[Step]:
    """The caller hangs up during the greeting."""
    return [
        (0, "started", {"called_number": "+33199000001", "caller_number": caller}),
        (0, "answered", {}),
        (0.1, "menu", {"reason": "greeting", "failures": 0, "menu": "Accueil"}),
        (2.5, "ended", {"outcome": "caller_hangup", "by": "caller"}),
    ]


async def record_call(
    pool: asyncpg.Pool, tenant_id: uuid.UUID | str, started: datetime, steps: list[Step]
) -> uuid.UUID:
    """Write one call's events as the consumer does; its record's id."""
    records = CallRecords(pool)
    tenant = uuid.UUID(str(tenant_id))
    call_id = f"test-{uuid.uuid4().hex}"
    for seconds, kind, data in steps:
        event = CallEvent(
            tenant_id=tenant,
            call_id=call_id,
            kind=kind,
            at=started + timedelta(seconds=seconds),
            data=data,
        )
        assert await records.apply(event, next(_SEQUENCE)) is Applied.WRITTEN
    found: uuid.UUID = await pool.fetchval(
        "SELECT id FROM call_records WHERE tenant_id = $1 AND call_id = $2", tenant, call_id
    )
    return found
