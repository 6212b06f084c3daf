"""The carrier moves a phone number from one tenant to another in one change: both tenants'
audit logs say so, both are announced on NATS (the stasis service forgets which tenant the
number was), and the command line does the same. On the real admin service, PostgreSQL, NATS."""

from __future__ import annotations

import asyncio
import io
import uuid

from admin_support import Admin, signed_in
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from rcp import subjects
from rcp.contracts import ConfigChanged
from rcp_admin.cli import parser, run
from rcp_admin.settings import Settings as AdminSettings


def _number() -> str:
    return f"+3319{uuid.uuid4().int % 10**8:08d}"


async def test_a_carrier_operator_moves_a_number_and_both_tenants_hear_of_it(
    admin: Admin, nats_client: NatsClient
) -> None:
    old_id, old = await admin.tenant("from")
    new_id, new = await admin.tenant("to")
    e164 = _number()
    await admin.carrier.ok("POST", f"/v1/tenants/{old_id}/numbers", {"e164": e164})
    _, operator = await signed_in(admin, None, "operator")
    _, support = await signed_in(admin, None, "support")
    heard: list[tuple[str, ConfigChanged]] = []

    async def collect(msg: Msg) -> None:
        heard.append((msg.subject, ConfigChanged.model_validate_json(msg.data)))

    subscriptions = [
        await nats_client.subscribe(subjects.config_changed(uuid.UUID(t)), cb=collect)
        for t in (old_id, new_id)
    ]
    await nats_client.flush()
    path = f"/v1/numbers/{e164.replace('+', '%2B')}/move"

    refused = await support.call("POST", path, {"tenant_id": new_id})
    by_tenant = await old.call("POST", path, {"tenant_id": new_id})
    moved = await operator.call("POST", path, {"tenant_id": new_id})
    again = await operator.call("POST", path, {"tenant_id": new_id})

    for _ in range(100):
        if len(heard) >= 2:
            break
        await asyncio.sleep(0.05)
    for subscription in subscriptions:
        await subscription.unsubscribe()
    assert refused.status == 403
    assert by_tenant.status == 403
    assert moved.status == 200, moved.body
    assert moved.body["tenant_id"] == new_id
    assert again.status == 409
    assert (await old.ok("GET", f"/v1/tenants/{old_id}/numbers"))["items"] == []
    assert [n["e164"] for n in (await new.ok("GET", f"/v1/tenants/{new_id}/numbers"))["items"]] == [
        e164
    ]
    assert sorted((c.tenant_id, c.entity, c.key) for _, c in heard) == sorted(
        [(uuid.UUID(old_id), "number", e164), (uuid.UUID(new_id), "number", e164)]
    )
    for tenant_id in (old_id, new_id):
        entries = await admin.carrier.ok("GET", f"/v1/tenants/{tenant_id}/audit")
        move = next(e for e in entries["items"] if e["action"] == "number.move")
        assert move["before"]["tenant_id"] == old_id
        assert move["after"]["tenant_id"] == new_id
    listed = await support.ok("GET", f"/v1/numbers?prefix={e164.replace('+', '%2B')}")
    assert [(n["e164"], n["tenant_id"]) for n in listed["items"]] == [(e164, new_id)]


async def _cli(admin: Admin, *argv: str) -> str:
    out = io.StringIO()
    settings = AdminSettings(database_url=admin.settings.database_url)
    assert await run(parser().parse_args(list(argv)), settings, out, io.StringIO()) == 0
    return out.getvalue()


async def test_the_command_line_routes_moves_lists_and_releases_numbers(admin: Admin) -> None:
    first_id, _ = await admin.tenant("clifirst")
    second_id, _ = await admin.tenant("clisecond")
    slugs = [
        (await admin.carrier.ok("GET", f"/v1/tenants/{t}"))["slug"] for t in (first_id, second_id)
    ]
    e164 = _number()

    routed = await _cli(admin, "number", "route", e164, "--tenant", slugs[0])
    moved = await _cli(admin, "number", "move", e164, "--to", slugs[1])
    listed = await _cli(admin, "number", "list", "--prefix", e164)
    released = await _cli(admin, "number", "release", e164)

    assert routed.strip() == f"{e164} routed to {slugs[0]}"
    assert moved.strip() == f"{e164} moved to {slugs[1]}"
    assert listed.split()[:2] == [e164, slugs[1]]
    assert released.strip() == f"{e164} released"
    assert (
        await admin.pool.fetchval("SELECT count(*) FROM phone_numbers WHERE e164 = $1", e164) == 0
    )
