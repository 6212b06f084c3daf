"""Subjects are built in one module, with the tenant right after the prefix."""

from __future__ import annotations

import uuid

import pytest
from rcp import subjects

TENANT = uuid.UUID("0b0c8f52-8a4c-4e0a-9f51-3f7f3f0c2a11")


def test_tenant_subjects_put_the_tenant_second() -> None:
    assert subjects.config_changed(TENANT) == f"rcp.config.{TENANT}.changed"
    assert subjects.call_event(TENANT, "started") == f"rcp.events.{TENANT}.call.started"
    assert subjects.tenant_events(TENANT) == f"rcp.events.{TENANT}.>"


@pytest.mark.parametrize("kind", ["a.b", "*", ">", "with space", ""])
def test_token_that_would_change_the_subject_shape_is_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="cannot be a NATS subject token"):
        subjects.call_event(TENANT, kind)


def test_wildcards_cover_every_tenant() -> None:
    assert subjects.CONFIG_CHANGED_ALL == "rcp.config.*.changed"
    assert subjects.EVENTS_ALL == "rcp.events.>"


def test_config_changed_subject_gives_back_its_tenant() -> None:
    assert subjects.config_changed_tenant(subjects.config_changed(TENANT)) == TENANT
    for other in [
        f"rcp.config.{TENANT}.changed.more",
        f"rcp.events.{TENANT}.changed",
        "rcp.config.not-a-uuid.changed",
        "rcp.config",
        f"other.config.{TENANT}.changed",
    ]:
        assert subjects.config_changed_tenant(other) is None, other
