"""Call records: how each call went, newest first; filtered, paged, one call's decision trace,
and the whole filtered log as CSV.

Pages are keyset pages: a cursor names the last call shown by its start and id, so a page
is as fast deep in a year of calls as at its start, and calls that arrive meanwhile neither
repeat nor skip a row. The CSV is streamed from a database cursor, never held whole.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web
from rcp.vocabulary import Outcome

from rcp_admin import schemas as s
from rcp_admin.auth import Principal
from rcp_admin.errors import VALIDATION_FAILED, ApiError
from rcp_admin.routing import TENANT, Call, Routes, answer
from rcp_admin.unit_of_work import Store, page

ROUTES = Routes(TENANT)


OUTCOMES = ", ".join(Outcome)
MAX_CALLER_QUERY = 32
CSV_BATCH = 500
CSV_COLUMNS = (
    "started_at",
    "answered_at",
    "ended_at",
    "duration_s",
    "caller_number",
    "called_number",
    "outcome",
    "call_id",
    "id",
)
SEPARATORS = {"comma": ",", "semicolon": ";"}
# A spreadsheet runs a cell starting so as a formula (CSV injection): such cells get a
# leading apostrophe, which spreadsheets show as text and do not display.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MISSING_CALL = ("call", "call_id")


@dataclass(frozen=True)
class CallFilter:
    """Which calls: started in [since, before), with this outcome, from a caller whose number
    contains these digits."""

    since: datetime | None = None
    before: datetime | None = None
    outcome: str | None = None
    caller_digits: str | None = None

    def where(self, first: int = 2) -> tuple[str, list[Any]]:
        """The SQL conditions (after `tenant_id = $1`) and their arguments from `$first` on."""
        conditions, args = [], []
        for condition, value in (
            ("started_at >= ${n}", self.since),
            ("started_at < ${n}", self.before),
            ("outcome = ${n}", self.outcome),
            (
                "regexp_replace(coalesce(caller_number, ''), '[^0-9]', '', 'g') LIKE ${n}",
                None if self.caller_digits is None else f"%{self.caller_digits}%",
            ),
        ):
            if value is not None:
                args.append(value)
                conditions.append(condition.format(n=first + len(args) - 1))
        return "".join(f" AND {c}" for c in conditions), args


def caller_digits(query: str | None) -> str | None:
    """The digits to look for in callers' numbers: spaces, dots, dashes, a leading + and a
    national 0 are left out, so that `06 12 34 56 78` finds `+33612345678`."""
    if query is None or not query.strip():
        return None
    if len(query) > MAX_CALLER_QUERY or not re.fullmatch(r"\s*\+?[0-9 .()\-]+", query):
        raise ApiError(
            VALIDATION_FAILED,
            f"caller is digits of a phone number (up to {MAX_CALLER_QUERY} characters)",
            "caller",
        )
    digits = re.sub(r"[^0-9]", "", query)
    if digits.startswith("0") and not digits.startswith("00") and len(digits) > 1:
        digits = digits[1:]
    return digits


def encode_cursor(started_at: datetime, call_id: UUID) -> str:
    """The opaque cursor after one call."""
    raw = f"{started_at.astimezone(UTC).isoformat()}|{call_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The call a cursor names; 422 for one this API did not write."""
    refused = ApiError(
        VALIDATION_FAILED, "cursor is not one this API gave: pass next_cursor as it came", "cursor"
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        started, _, call_id = raw.partition("|")
        at, after = datetime.fromisoformat(started), UUID(call_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise refused from error
    if at.tzinfo is None:
        raise refused
    return at, after


async def list_some(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    filters: CallFilter,
    limit: int,
    cursor: str | None = None,
) -> s.CallList:
    """Up to `limit` calls the filters keep, newest first, after `cursor` if given."""
    conditions, args = filters.where()
    if cursor is not None:
        at, call_id = decode_cursor(cursor)
        n = 2 + len(args)
        conditions += f" AND (started_at, id) < (${n}, ${n + 1})"
        args += [at, call_id]
    rows = await store.tenant_rows(
        actor,
        tenant_id,
        f"""SELECT * FROM call_records WHERE tenant_id = $1{conditions}
            ORDER BY started_at DESC, id DESC LIMIT ${2 + len(args)}""",
        *args,
        limit + 1,
    )
    items, last = page(rows, limit, s.CallRecord)
    return s.CallList(
        items=items,
        next_cursor=None if last is None else encode_cursor(last.started_at, last.id),
        next_before=None if last is None else last.started_at,
    )


def _steps(trace: Sequence[dict[str, Any]], started_at: datetime) -> list[s.CallStep]:
    steps = []
    for entry in trace:
        at = datetime.fromisoformat(entry["at"])
        steps.append(
            s.CallStep(
                kind=entry["kind"],
                at=at,
                offset_ms=max(0, round((at - started_at).total_seconds() * 1000)),
                data=entry.get("data") or {},
            )
        )
    return steps


def _numbers(steps: Iterable[s.CallStep]) -> list[str]:
    """Every extension, group or room number the steps name."""
    found: set[str] = set()
    for step in steps:
        value = step.data.get("number")
        if isinstance(value, str) and value.isdigit():
            found.add(value)
        members = step.data.get("members")
        if isinstance(members, str):
            found.update(m for m in members.split(",") if m.isdigit())
    return sorted(found)


NAMES = """
    SELECT number, btrim(first_name || ' ' || last_name) AS name FROM extensions
     WHERE tenant_id = $1 AND number = ANY($2::text[])
    UNION ALL
    SELECT number, name FROM ring_groups WHERE tenant_id = $1 AND number = ANY($2::text[])
    UNION ALL
    SELECT number, name FROM conference_rooms WHERE tenant_id = $1 AND number = ANY($2::text[])"""


async def read(store: Store, actor: Principal, tenant_id: UUID, call_id: UUID) -> s.CallDetail:
    """One call with its decision trace and the names of what it reached."""
    query = "SELECT * FROM call_records WHERE tenant_id = $1 AND id = $2"
    row = await store.tenant_one(actor, tenant_id, MISSING_CALL, query, call_id)
    steps = _steps(row["trace"], row["started_at"])
    names = await store.pool.fetch(NAMES, tenant_id, _numbers(steps))
    return s.CallDetail.model_validate(
        {**dict(row), "steps": steps, "names": {r["number"]: r["name"] for r in names}}
    )


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as the text it is, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv_cells(row: asyncpg.Record, zone: ZoneInfo) -> list[str]:
    def when(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).isoformat(timespec="seconds")

    ended, started = row["ended_at"], row["started_at"]
    duration = "" if ended is None else str(round((ended - started).total_seconds()))
    cells = [
        when(started),
        when(row["answered_at"]),
        when(ended),
        duration,
        row["caller_number"] or "",
        row["called_number"],
        row["outcome"] or "",
        row["call_id"],
        str(row["id"]),
    ]
    return [spreadsheet_safe(cell) for cell in cells]


async def csv_lines(
    store: Store,
    actor: Principal,
    tenant_id: UUID,
    filters: CallFilter,
    separator: str = ",",
) -> AsyncIterator[str]:
    """The calls the filters keep as CSV, newest first, header first: times in the tenant's
    time zone. Checks the tenant before the first line is asked for."""
    tenant = await store.tenant_row(actor, tenant_id)
    zone = ZoneInfo(tenant["timezone"])
    conditions, args = filters.where()
    query = f"""SELECT * FROM call_records WHERE tenant_id = $1{conditions}
                ORDER BY started_at DESC, id DESC"""

    async def lines() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        yield buffer.getvalue()
        async with store.pool.transaction() as connection:
            batch: list[list[str]] = []
            async for row in connection.cursor(query, tenant_id, *args, prefetch=CSV_BATCH):
                batch.append(_csv_cells(row, zone))
                if len(batch) == CSV_BATCH:
                    yield _rows_text(batch, separator)
                    batch = []
            if batch:
                yield _rows_text(batch, separator)

    return lines()


def _rows_text(rows: list[list[str]], separator: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


FILTERS_QUERY = {
    "since": "ISO 8601 time, inclusive",
    "before": "ISO 8601 time, exclusive",
    "outcome": f"one of {OUTCOMES}",
    "caller": "digits the caller's number contains (spaces, dots, a leading + or national 0 "
    "ignored: `06 12 34` finds +33612345678)",
}


def _filters(c: Call) -> CallFilter:
    outcome = c.request.query.get("outcome") or None
    if outcome is not None and outcome not in set(Outcome):
        raise ApiError(VALIDATION_FAILED, f"outcome must be one of {OUTCOMES}", "outcome")
    since, before = c.query_datetime("since"), c.query_datetime("before")
    if since is not None and before is not None and before <= since:
        raise ApiError(VALIDATION_FAILED, "before must be later than since", "before")
    return CallFilter(since, before, outcome, caller_digits(c.request.query.get("caller")))


@ROUTES.get(
    "/calls",
    response=s.CallList,
    query={
        **FILTERS_QUERY,
        "cursor": "next_cursor of the page before (same filters)",
        "limit": "1 to 1000 (100)",
    },
)
async def list_calls(c: Call) -> web.Response:
    """Call records, newest first"""
    filters = _filters(c)
    limit = c.query_int("limit", 100, 1, 1000)
    cursor = c.request.query.get("cursor") or None
    return answer(await list_some(c.store, c.principal, c.tenant_id, filters, limit, cursor))


@ROUTES.get(
    "/calls.csv",
    csv=True,
    query={**FILTERS_QUERY, "separator": "comma (the default) or semicolon"},
)
async def export_calls(c: Call) -> web.StreamResponse:
    """Every call record the filters keep, as CSV (streamed)"""
    filters = _filters(c)
    choice = c.request.query.get("separator", "comma")
    if choice not in SEPARATORS:
        raise ApiError(VALIDATION_FAILED, "separator must be comma or semicolon", "separator")
    lines = await csv_lines(c.store, c.principal, c.tenant_id, filters, SEPARATORS[choice])
    today = datetime.now(UTC).date().isoformat()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="calls-{today}.csv"',
        }
    )
    await response.prepare(c.request)
    async for text in lines:
        await response.write(text.encode())
    await response.write_eof()
    return response


@ROUTES.get("/calls/{call_id}", response=s.CallDetail)
async def get_call(c: Call) -> web.Response:
    """One call and its decision trace"""
    call_id = c.path_uuid("call_id", "call")
    return answer(await read(c.store, c.principal, c.tenant_id, call_id))
