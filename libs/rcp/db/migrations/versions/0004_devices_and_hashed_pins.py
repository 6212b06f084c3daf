"""Devices instead of dial strings, and conference PINs stored hashed (issue 12, phase B).

**Devices.** A physical extension rings a device the carrier provisioned for its tenant
(`devices`: a name unique in the tenant, and one Asterisk endpoint, `PJSIP/<endpoint>`, or in
development one of the local stack's test phones). A PJSIP endpoint belongs to one tenant at
most. `extensions.device_id` points at one of the tenant's own devices (a composite foreign key:
never another tenant's).

Every existing dial string that is a device's endpoint becomes a device of its tenant (one per
endpoint and tenant, named after the endpoint: `PJSIP/alice` is `alice`, `Local/101@test-phones`
is `101-test-phones`), and its extensions point at it. Nothing is lost: a dial string that is no
device (`PJSIP/+88212345678@carrier`, `PJSIP/carrier`, a `Local/` channel into another context,
another technology) stays as it was in `extensions.legacy_dial_string`, where the admin API
flags it and the stasis service still refuses to ring it (it did since revision 0003's code);
so does a PJSIP endpoint that several tenants rang, for each tenant but the oldest (which gets
the device). Setting a device on such an extension clears its legacy dial string.

**PINs.** `conference_rooms.pin` becomes `pin_hash` (salted scrypt, `rcp.pins`); PINs of three
digits (allowed before) keep working and are flagged (`pin_too_short`) so that an admin changes
them. PINs already written into the audit log are masked.

The downgrade restores dial strings (a device's endpoint, or the legacy dial string); it
refuses to run while a room has a PIN, which cannot be recovered from its hash.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from rcp.db.migrations import execute_many, execute_script, fetch
from rcp.pins import hash_pin

revision = "0004"
down_revision = "0003"

# Frozen copies of the rules of this revision (rcp.endpoints and rcp.pins hold the live ones).
DEVICE_ENDPOINT = r"^PJSIP/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
TEST_PHONE = (
    r"^Local/(?:[0-9]{1,10}@test-phones|[a-z][A-Za-z0-9_-]{0,63}~[A-Za-z0-9_.+-]{1,80}@test-apps)"
    r"(?:/n)?$"
)
DEVICE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
PIN_HASH = r"^scrypt\$[0-9]{2}\$[0-9]{1,2}\$[0-9]{1,2}\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$"
RESERVED = frozenset({"carrier"})
NAME_LENGTH = 64

BEFORE_DATA = rf"""
CREATE TABLE devices (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name ~ '{DEVICE_NAME}'),
    endpoint    text NOT NULL CHECK (endpoint ~ '{DEVICE_ENDPOINT}' OR endpoint ~ '{TEST_PHONE}'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (id),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, endpoint)
);
-- A phone rings for one tenant; the local stack's test phones are shared by its tenants.
CREATE UNIQUE INDEX devices_endpoint_one_tenant ON devices (endpoint) WHERE endpoint LIKE 'PJSIP/%';
CREATE TRIGGER devices_touch BEFORE UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION rcp_touch_updated_at();

ALTER TABLE extensions RENAME COLUMN dial_string TO legacy_dial_string;
ALTER TABLE extensions DROP CONSTRAINT extensions_kind_target;
ALTER TABLE extensions ADD COLUMN device_id uuid;
ALTER TABLE extensions ADD CONSTRAINT extensions_device_fkey
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id);

ALTER TABLE conference_rooms
    ADD COLUMN pin_hash text CHECK (pin_hash ~ '{PIN_HASH}'),
    ADD COLUMN pin_too_short boolean NOT NULL DEFAULT false;

UPDATE audit_log
   SET before = CASE WHEN before ->> 'pin' IS NOT NULL
                     THEN jsonb_set(before, '{{pin}}', '"***"') ELSE before END,
       after = CASE WHEN after ->> 'pin' IS NOT NULL
                    THEN jsonb_set(after, '{{pin}}', '"***"') ELSE after END
 WHERE entity = 'conference_room';
"""

AFTER_DATA = """
ALTER TABLE extensions ADD CONSTRAINT extensions_kind_target CHECK (
    (kind = 'physical' AND external_number IS NULL
     AND (device_id IS NULL) <> (legacy_dial_string IS NULL))
    OR (kind = 'virtual' AND external_number IS NOT NULL
        AND device_id IS NULL AND legacy_dial_string IS NULL)
);
CREATE INDEX extensions_by_device ON extensions (tenant_id, device_id) WHERE device_id IS NOT NULL;

ALTER TABLE conference_rooms DROP COLUMN pin;
ALTER TABLE conference_rooms ADD CONSTRAINT conference_rooms_short_pin_is_a_pin
    CHECK (pin_hash IS NOT NULL OR NOT pin_too_short);
"""

DOWNGRADE = r"""
ALTER TABLE conference_rooms DROP CONSTRAINT conference_rooms_short_pin_is_a_pin;
ALTER TABLE conference_rooms ADD COLUMN pin text CHECK (pin ~ '^[0-9]{3,12}$');
ALTER TABLE conference_rooms DROP COLUMN pin_hash, DROP COLUMN pin_too_short;

DROP INDEX extensions_by_device;
ALTER TABLE extensions DROP CONSTRAINT extensions_kind_target;
UPDATE extensions e SET legacy_dial_string = d.endpoint
  FROM devices d WHERE d.tenant_id = e.tenant_id AND d.id = e.device_id;
ALTER TABLE extensions DROP COLUMN device_id;
ALTER TABLE extensions RENAME COLUMN legacy_dial_string TO dial_string;
ALTER TABLE extensions ADD CONSTRAINT extensions_kind_target CHECK (
    (kind = 'physical' AND dial_string IS NOT NULL AND external_number IS NULL)
    OR (kind = 'virtual' AND external_number IS NOT NULL AND dial_string IS NULL)
);
DROP TABLE devices;
"""


def _device_endpoint(dial_string: str) -> bool:
    """Whether a dial string is the endpoint of a device (of this revision's rules)."""
    if re.match(DEVICE_ENDPOINT, dial_string):
        return dial_string.removeprefix("PJSIP/") not in RESERVED
    return re.match(TEST_PHONE, dial_string) is not None


def _name_of(endpoint: str, taken: set[str]) -> str:
    """A device name for an endpoint, unique among the tenant's `taken` names."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", endpoint.split("/", 1)[1])
    base = re.sub(r"^[^A-Za-z0-9]+", "", base)[:NAME_LENGTH] or "device"
    name, n = base, 1
    while name in taken:
        n += 1
        suffix = f"-{n}"
        name = base[: NAME_LENGTH - len(suffix)] + suffix
    taken.add(name)
    return name


def _migrate_dial_strings() -> None:
    # Oldest tenant first: a PJSIP endpoint several tenants rang becomes the oldest's device.
    rows = fetch(
        """SELECT DISTINCT t.created_at, t.id AS tenant_id, e.legacy_dial_string AS endpoint
             FROM extensions e JOIN tenants t ON t.id = e.tenant_id
            WHERE e.legacy_dial_string IS NOT NULL
            ORDER BY t.created_at, t.id, e.legacy_dial_string"""
    )
    owners: dict[str, UUID] = {}
    names: dict[UUID, set[str]] = {}
    devices = []
    for row in rows:
        tenant_id, endpoint = row["tenant_id"], row["endpoint"]
        if not _device_endpoint(endpoint):
            continue
        pjsip = endpoint.startswith("PJSIP/")
        if pjsip and owners.setdefault(endpoint, tenant_id) != tenant_id:
            continue
        name = _name_of(endpoint, names.setdefault(tenant_id, set()))
        devices.append((tenant_id, name, endpoint))
    execute_many("INSERT INTO devices (tenant_id, name, endpoint) VALUES ($1, $2, $3)", devices)
    execute_script(
        """UPDATE extensions e SET device_id = d.id, legacy_dial_string = NULL
             FROM devices d
            WHERE d.tenant_id = e.tenant_id AND d.endpoint = e.legacy_dial_string"""
    )


def _hash_pins() -> None:
    rooms = fetch("SELECT id, pin FROM conference_rooms WHERE pin IS NOT NULL")
    # hashlib's scrypt lets go of the GIL: rooms are hashed on every core.
    with ThreadPoolExecutor() as pool:
        hashes = list(pool.map(hash_pin, (room["pin"] for room in rooms)))
    execute_many(
        """UPDATE conference_rooms SET pin_hash = $2, pin_too_short = length(pin) < 4
            WHERE id = $1""",
        [(room["id"], hashed) for room, hashed in zip(rooms, hashes, strict=True)],
    )


def upgrade() -> None:
    execute_script(BEFORE_DATA)
    _migrate_dial_strings()
    _hash_pins()
    execute_script(AFTER_DATA)


def downgrade() -> None:
    if fetch("SELECT 1 FROM conference_rooms WHERE pin_hash IS NOT NULL LIMIT 1"):
        raise RuntimeError(
            "conference rooms hold PINs stored hashed, which revision 0003 cannot take back: "
            "remove those PINs first (or restore a backup taken before revision 0004)"
        )
    execute_script(DOWNGRADE)
