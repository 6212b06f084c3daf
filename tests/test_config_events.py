"""Config-changed events: what a subscriber takes from a message, and what it drops."""

from __future__ import annotations

import uuid

from rcp import subjects
from rcp.config_events import parse_config_changed
from rcp.contracts import ConfigChanged

TENANT = uuid.UUID("6f0c9d0e-3b7e-4a59-9b8e-2d7c1f0a4b11")
OTHER = uuid.UUID("0b4d3c2a-1f0e-4d9c-8b7a-6e5f4d3c2b1a")


def test_an_event_gives_its_tenant_entity_and_key() -> None:
    sent = ConfigChanged(tenant_id=TENANT, entity="extension", key="101")
    event = parse_config_changed(subjects.config_changed(TENANT), sent.model_dump_json().encode())
    assert event is not None
    assert (event.tenant_id, event.entity, event.key) == (TENANT, "extension", "101")


def test_an_event_for_another_tenant_than_its_subject_names_is_dropped() -> None:
    sent = ConfigChanged(tenant_id=OTHER, entity="tenant")
    assert (
        parse_config_changed(subjects.config_changed(TENANT), sent.model_dump_json().encode())
        is None
    )


def test_a_message_that_is_no_config_change_is_dropped() -> None:
    assert parse_config_changed(subjects.config_changed(TENANT), b'{"entity": "robot"}') is None
    assert parse_config_changed(subjects.config_changed(TENANT), b"not json") is None
