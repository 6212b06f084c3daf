"""Writes are guarded by ETags, audited, and announced on NATS after they commit."""

from __future__ import annotations

import asyncio
from typing import Any

from admin_support import Admin
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from rcp import subjects
from rcp.contracts import ConfigChanged


async def test_stale_if_match_on_keys_gets_412_and_changes_nothing(admin: Admin) -> None:
    tenant_id, first = await admin.tenant()
    second = first.as_(first.token)
    path = f"/v1/tenants/{tenant_id}/receptionist/keys"
    read = await first.call("GET", path)
    etag = read.headers["ETag"]
    # Another admin changes key 1 after we read.
    await second.ok("PUT", f"{path}/1", {"action": "dial_by_name"}, headers={"If-Match": etag})
    stale = await first.call(
        "PUT", f"{path}/2", {"action": "dial_by_name"}, headers={"If-Match": etag}
    )
    assert (stale.status, stale.body["code"]) == (412, "precondition_failed")
    keys = (await first.ok("GET", path))["items"]
    assert [k["digit"] for k in keys if k["assigned"]] == ["1"]
    fresh = (await first.call("GET", path)).headers["ETag"]
    assert (await first.call("DELETE", f"{path}/1", headers={"If-Match": fresh})).status == 200


async def test_stale_if_match_on_receptionist_gets_412(admin: Admin) -> None:
    tenant_id, client = await admin.tenant()
    path = f"/v1/tenants/{tenant_id}/receptionist"
    etag = (await client.call("GET", path)).headers["ETag"]
    changed = await client.call("PATCH", path, {"menu_timeout_s": 8}, headers={"If-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    stale = await client.call("PATCH", path, {"menu_timeout_s": 9}, headers={"If-Match": etag})
    assert stale.status == 412
    assert (await client.ok("GET", path))["menu_timeout_s"] == 8


async def test_every_change_is_audited_with_who_before_and_after(admin: Admin) -> None:
    tenant_id, client = await admin.tenant(devices=("a",))
    t = f"/v1/tenants/{tenant_id}"
    await client.ok(
        "POST",
        f"{t}/extensions",
        {"number": "101", "kind": "physical", "last_name": "Poulain", "device": "a"},
    )
    await client.ok("PATCH", f"{t}/extensions/101", {"first_name": "Amélie"})
    entry = (await client.ok("GET", f"{t}/audit"))["items"][0]
    assert (entry["action"], entry["entity"], entry["entity_key"], entry["actor"]) == (
        "extension.update",
        "extension",
        "101",
        "acme admin",
    )
    assert (entry["before"]["first_name"], entry["after"]["first_name"]) == ("", "Amélie")
    assert entry["request_id"]


async def test_config_changed_is_published_after_each_kind_of_write(
    admin: Admin, nats_client: NatsClient
) -> None:
    tenant_id, client = await admin.tenant(devices=("p",))
    t = f"/v1/tenants/{tenant_id}"
    received: asyncio.Queue[ConfigChanged] = asyncio.Queue()

    async def collect(msg: Msg) -> None:
        await received.put(ConfigChanged.model_validate_json(msg.data))

    subscription = await nats_client.subscribe(subjects.config_changed(tenant_id), cb=collect)  # type: ignore[arg-type]
    await nats_client.flush()
    writes: list[tuple[str, str, Any, str]] = [
        ("PATCH", t, {"name": "Acme SA"}, "tenant"),
        ("POST", f"{t}/numbers", {"e164": "+33199004242"}, "number"),
        (
            "POST",
            f"{t}/extensions",
            {"number": "101", "kind": "physical", "last_name": "P", "device": "p"},
            "extension",
        ),
        ("PATCH", f"{t}/extensions/101", {"last_name": "Poulain"}, "extension"),
        (
            "POST",
            f"{t}/ring-groups",
            {"number": "200", "name": "Accueil", "members": ["101"]},
            "ring_group",
        ),
        ("POST", f"{t}/conference-rooms", {"number": "300", "name": "Salle"}, "conference_room"),
        ("PATCH", f"{t}/receptionist", {"dial_extension_enabled": True}, "receptionist"),
        ("PUT", f"{t}/receptionist/keys/1", {"action": "dial_by_name"}, "key"),
        ("DELETE", f"{t}/receptionist/keys/1", None, "key"),
        (
            "PATCH",
            f"{t}/directory",
            {"entries": [{"number": "101", "reachable_by_name": False}]},
            "directory",
        ),
        ("POST", f"{t}/prompts", {"text": "Bonjour", "language": "fr-FR"}, "prompt"),
        ("DELETE", f"{t}/conference-rooms/300", None, "conference_room"),
        ("POST", f"{t}/devices", {"name": "q", "endpoint": f"PJSIP/q-{tenant_id}"}, "device"),
        ("PATCH", f"{t}/devices/p", {"endpoint": f"PJSIP/p2-{tenant_id}"}, "device"),
        ("PATCH", f"{t}/outbound-policy", {"allowed_regions": ["BE"]}, "outbound_policy"),
        ("DELETE", f"{t}/outbound-policy", None, "outbound_policy"),
        ("PATCH", f"{t}/limits", {"max_outbound_legs": 2}, "tenant_limits"),
        ("DELETE", f"{t}/limits", None, "tenant_limits"),
    ]
    carrier = ("/numbers", "/devices", "/devices/p", "/outbound-policy", "/limits")
    try:
        for method, path, body, entity in writes:
            by_carrier = path == t or path.endswith(carrier)
            await (admin.carrier if by_carrier else client).ok(method, path, body)
            event = await asyncio.wait_for(received.get(), timeout=10)
            assert (event.entity, str(event.tenant_id)) == (entity, tenant_id), (method, path)
    finally:
        await subscription.unsubscribe()


async def test_failed_write_publishes_nothing_and_audits_nothing(
    admin: Admin, nats_client: NatsClient
) -> None:
    tenant_id, client = await admin.tenant()
    t = f"/v1/tenants/{tenant_id}"
    received: list[bytes] = []

    async def collect(msg: Msg) -> None:
        received.append(msg.data)

    subscription = await nats_client.subscribe(subjects.config_changed(tenant_id), cb=collect)  # type: ignore[arg-type]
    await nats_client.flush()
    audit_before = len((await client.ok("GET", f"{t}/audit"))["items"])
    refused = await client.call(
        "PUT",
        f"{t}/receptionist/keys/1",
        {"action": "transfer", "target": {"kind": "extension", "number": "999"}},
    )
    assert refused.status == 422
    await client.ok("POST", f"{t}/prompts", {"text": "marker", "language": "fr-FR"})
    for _ in range(
        100
    ):  # the marker's event arrives after any event of the refused write would have
        if received:
            break
        await asyncio.sleep(0.05)
    await subscription.unsubscribe()
    assert [ConfigChanged.model_validate_json(data).entity for data in received] == ["prompt"]
    assert len((await client.ok("GET", f"{t}/audit"))["items"]) == audit_before + 1
