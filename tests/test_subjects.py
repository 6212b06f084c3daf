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


def test_requests_name_their_tenant_after_the_service_and_give_it_back() -> None:
    search = subjects.DIRECTORY_SEARCH.subject(TENANT)
    assert search == f"rcp.directory.{TENANT}.search"
    assert subjects.MEDIA_ENSURE_PROMPT.subject(TENANT, "t1") == f"rcp.media.{TENANT}.ensure.t1"
    assert subjects.MEDIA_FORGET.every_tenant("t1") == "rcp.media.*.forget.t1"
    assert subjects.request_tenant(search) == TENANT
    assert subjects.request_tenant(f"{search}.t1") == TENANT


@pytest.mark.parametrize(
    "subject",
    [
        "rcp.directory.*.search",
        "rcp.directory.search",
        f"rcp.directory.{TENANT}",
        f"other.directory.{TENANT}.search",
        f"rcp.directory.{str(TENANT).upper()}.search",
        f"rcp.directory.{TENANT.hex}.search",
    ],
)
def test_a_subject_that_does_not_name_a_tenant_canonically_names_none(subject: str) -> None:
    assert subjects.request_tenant(subject) is None
