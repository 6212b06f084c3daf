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

DEVICE_ENDPOINT = re.compile(r"^PJSIP/(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")
TEST_PHONE = re.compile(
    r"^Local/(?:[0-9]{1,10}@test-phones|[a-z][A-Za-z0-9_-]{0,63}~[A-Za-z0-9_.+-]{1,80}@test-apps)"
    r"(?:/n)?$"
)
TRUNK_TEMPLATE = re.compile(r"^PJSIP/\{number\}@(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")


def trunk_endpoint(template: str) -> str | None:
    """The PJSIP endpoint a trunk dial template such as PJSIP/{number}@carrier goes through."""
    match = TRUNK_TEMPLATE.match(template)
    return match.group("name") if match else None


def endpoint_allowed(
    dial_string: str, *, test_phones: bool, reserved: Collection[str] = ()
) -> bool:
    """Whether a physical extension may ring `dial_string`: a PJSIP device (not one of the
    `reserved` endpoints, such as the carrier trunk), or in development a test phone."""
    device = DEVICE_ENDPOINT.match(dial_string)
    if device is not None:
        return device.group("name") not in reserved
    return test_phones and TEST_PHONE.match(dial_string) is not None
