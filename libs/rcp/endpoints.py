"""Which Asterisk endpoints a call may ring: a tenant's phones, never anything else.

A physical extension rings a device the carrier provisioned: `PJSIP/<endpoint>`, one PJSIP
endpoint by name (no `@host`, no URI, no second `/`, so never an INVITE to an address of the
tenant's choosing, never a number through the trunk, never a `Local/` channel into a dialplan
context). Development adds the local stack's phones: `Local/<extension>@test-phones` and
`Local/<app>~<argument>@test-apps` (the tests' own Stasis apps), which only exist in the local
stack's dialplan; a production service refuses to start with them allowed (see
`rcp.settings.CommonSettings.allow_test_phones`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum

DEVICE_ENDPOINT = re.compile(r"^PJSIP/(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")
TEST_PHONE = re.compile(
    r"^Local/(?:[0-9]{1,10}@test-phones|[a-z][A-Za-z0-9_-]{0,63}~[A-Za-z0-9_.+-]{1,80}@test-apps)"
    r"(?:/n)?$"
)
DEFAULT_TRUNK_DIAL_TEMPLATE = "PJSIP/{number}@carrier"
"""How an outside number is dialled: through the carrier's trunk endpoint."""
DEVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""A device's name in its tenant (what an extension names to ring it)."""
TRUNK_TEMPLATE = re.compile(r"^PJSIP/\{number\}@(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")


def trunk_endpoint(template: str) -> str | None:
    """The PJSIP endpoint a trunk dial template such as PJSIP/{number}@carrier goes through."""
    match = TRUNK_TEMPLATE.match(template)
    return match.group("name") if match else None


class EndpointRefusal(StrEnum):
    """Why an endpoint is no device a tenant's extension may ring."""

    NOT_A_DEVICE = "not_a_device"
    RESERVED = "reserved"
    TEST_PHONE = "test_phone"


REFUSAL_MESSAGES = {
    EndpointRefusal.NOT_A_DEVICE: "a device is one PJSIP endpoint by name, PJSIP/<endpoint> "
    "(letters, digits, _ . -): never an @host or a URI, never a Local/ channel",
    EndpointRefusal.RESERVED: "this endpoint is the carrier's trunk: no extension may ring it",
    EndpointRefusal.TEST_PHONE: "the local stack's test phones are for development only "
    "(RCP_ALLOW_TEST_PHONES)",
}


def endpoint_refusal(
    endpoint: str, *, test_phones: bool, reserved: Collection[str] = ()
) -> EndpointRefusal | None:
    """Why a physical extension may not ring `endpoint`, or None if it may: a PJSIP device
    (not one of the `reserved` endpoints, such as the carrier trunk), or in development a test
    phone."""
    device = DEVICE_ENDPOINT.match(endpoint)
    if device is not None:
        return EndpointRefusal.RESERVED if device.group("name") in reserved else None
    if TEST_PHONE.match(endpoint) is not None:
        return None if test_phones else EndpointRefusal.TEST_PHONE
    return EndpointRefusal.NOT_A_DEVICE


def endpoint_allowed(
    dial_string: str, *, test_phones: bool, reserved: Collection[str] = ()
) -> bool:
    """Whether a physical extension may ring `dial_string` (see `endpoint_refusal`)."""
    return endpoint_refusal(dial_string, test_phones=test_phones, reserved=reserved) is None
