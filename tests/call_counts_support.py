"""The dashboard's counts (`call_counts`, revision 0012) as stored, and as the call records'
outcomes, answers and traces say they should be, counted again here in Python."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

Key = tuple[str, datetime, str, str]  # kind, quarter hour or hour, item, detail


def quarter(at: datetime) -> datetime:
    """The quarter hour (UTC) a time is in."""
    return at - (at - EPOCH) % timedelta(minutes=15)


def hour(at: datetime) -> datetime:
    """The hour (UTC) a time is in."""
    return at - (at - EPOCH) % timedelta(hours=1)


def recount(records: list[asyncpg.Record]) -> Counter[Key]:
    """What the records' outcomes, answers and traces say, counted in Python."""
    counted: Counter[Key] = Counter()
    for record in records:
        started = record["started_at"]
        answered = "answered" if record["answered_at"] is not None else ""
        counted["call", quarter(started), "", answered] += 1
        counted["outcome", hour(started), record["outcome"] or "in_progress", ""] += 1
        trace = record["trace"]
        for step in json.loads(trace) if isinstance(trace, str) else trace:
            data = step.get("data") or {}
            if step.get("kind") == "key":
                digit, action = data.get("digit") or "", data.get("action") or "unassigned"
                counted["key", hour(started), digit, action] += 1
            elif step.get("kind") == "lookup_result":
                total = data.get("total")
                found = "" if total is None else "found" if total > 0 else "no_match"
                failed = "failed" if "failed" in data else ""
                counted["lookup", hour(started), found, failed] += 1
    return counted


async def records_of(pool: asyncpg.Pool, tenant: uuid.UUID) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT * FROM call_records WHERE tenant_id = $1", tenant))


async def stored(pool: asyncpg.Pool, tenant: uuid.UUID) -> Counter[Key]:
    """The tenant's counts as stored (the owner's pool reads every row)."""
    rows = await pool.fetch(
        "SELECT kind, bucket, item, detail, n FROM call_counts WHERE tenant_id = $1", tenant
    )
    return Counter({(r["kind"], r["bucket"], r["item"], r["detail"]): r["n"] for r in rows})
