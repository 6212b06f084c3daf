"""Connecting to NATS as a user of `rcp.nats_access`: the test suite's own (`tests`, which
plays every part), or a service's, whose permissions a test puts to the proof."""

from __future__ import annotations

from typing import Any, TypeVar

from rcp.messaging import nats_options
from rcp.settings import CommonSettings

SettingsT = TypeVar("SettingsT", bound=CommonSettings)

TESTS = "tests"


def as_user(settings: SettingsT, user: str = TESTS) -> SettingsT:
    """The same settings, connecting to NATS as `user` (its password found as the stack's)."""
    return settings.model_copy(update={"nats_user": user, "nats_password": ""})


def login(user: str = TESTS, settings: CommonSettings | None = None) -> dict[str, Any]:
    """`nats.connect` keywords that log in as `user` (the local stack's passwords)."""
    return nats_options(as_user(settings or CommonSettings(), user))
