"""A tenant's `TenantConfig` from its snapshot (`rcp.config_store`): the configuration stasis
reads for every call, and the admin's simulator builds from the same rows (with the document
of the draft or of a version in place of the published one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from rcp.callflow import config
from rcp.contracts.receptionist import KeyDoc, ReceptionistDocument, SettingsDoc
from rcp.outbound import limits_of, policy_of
from rcp.vocabulary import ExtensionKind, KeyAction, NoAnswerAction, RingStrategy


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def build(tenant_id: UUID, snapshot: Mapping[str, Any]) -> config.TenantConfig | None:
    """A tenant's configuration from its snapshot; None if it is gone or suspended."""
    tenant = snapshot["tenant"]
    if tenant is None or tenant["status"] != "active":
        return None
    extension_rows = snapshot["extensions"]
    extensions = [
        # EXTENSIONS selects the fields of an Extension, and its id.
        config.Extension(
            **{k: v for k, v in e.items() if k != "id"}
            | {
                "kind": ExtensionKind(e["kind"]),
                "name_prompt_id": _uuid(e["name_prompt_id"]),
                "voicemail_greeting_prompt_id": _uuid(e["voicemail_greeting_prompt_id"]),
            }
        )
        for e in extension_rows
    ]
    group_rows = snapshot["ring_groups"]
    groups = [
        config.RingGroup(
            number=g["number"],
            name=g["name"],
            members=tuple(g["members"]),
            strategy=RingStrategy(g["strategy"]),
            ring_seconds=g["ring_seconds"],
            no_answer_action=NoAnswerAction(g["no_answer_action"]),
            no_answer_extension=g["no_answer_number"],
        )
        for g in group_rows
    ]
    room_rows = snapshot["rooms"]
    rooms = [
        config.ConferenceRoom(number=r["number"], name=r["name"], pin_hash=r["pin_hash"])
        for r in room_rows
    ]
    numbers = {UUID(r["id"]): r["number"] for r in (*extension_rows, *group_rows, *room_rows)}
    policy = policy_of(snapshot["policy"], tenant["locale"])
    limits = limits_of(snapshot["limits"])
    raw = snapshot["document"]
    document = (
        ReceptionistDocument(settings=SettingsDoc(language=tenant["locale"]))
        if raw is None
        else ReceptionistDocument.model_validate(raw)
    )
    receptionist, keys, menus, first = _receptionist(document, numbers)
    return config.TenantConfig.build(
        tenant_id,
        tenant["name"],
        receptionist,
        keys,
        extensions,
        groups,
        rooms,
        policy,
        limits,
        menus=menus,
        first_menu=first,
        schedule=document.schedule.decided_by(tenant["timezone"]),
        version=snapshot["version"],
    )


def _receptionist(
    document: ReceptionistDocument, numbers: Mapping[UUID, str]
) -> tuple[
    config.ReceptionistSettings,
    dict[str, config.KeyAction],
    list[config.Menu],
    tuple[str, str],
]:
    """The call flow's settings, first menu's keys, other menus and first menu's id and name,
    from a receptionist document (`numbers`: the number of each extension, group and room)."""
    s = document.settings
    exhausted = numbers.get(s.exhausted_extension_id) if s.exhausted_extension_id else None
    # The document's settings, field for field, but the exhausted extension by its number.
    receptionist = config.ReceptionistSettings(
        **s.model_dump(exclude={"exhausted_extension_id"}), exhausted_extension=exhausted
    )
    first = document.first_menu
    first_keys = _keys(first.keys, numbers) if first is not None else {}
    menus = [
        config.Menu(
            id=str(m.id),
            name=m.name,
            keys=_keys(m.keys, numbers),
            language=m.language or s.language,
            greeting_prompt_id=m.greeting_prompt_id,
            dial_extension_enabled=(
                s.dial_extension_enabled
                if m.dial_extension_enabled is None
                else m.dial_extension_enabled
            ),
            menu_timeout_s=m.menu_timeout_s or s.menu_timeout_s,
            inter_digit_timeout_s=m.inter_digit_timeout_s or s.inter_digit_timeout_s,
        )
        for m in document.menus
        if not m.first
    ]
    named = (str(first.id), first.name) if first is not None else (config.FIRST_MENU, "")
    return receptionist, first_keys, menus, named


def _keys(keys: Mapping[str, KeyDoc], numbers: Mapping[UUID, str]) -> dict[str, config.KeyAction]:
    actions: dict[str, config.KeyAction] = {}
    for digit, key in keys.items():
        action = _key_action(key, numbers)
        if action is not None:
            actions[digit] = action
    return actions


def _key_action(key: KeyDoc, numbers: Mapping[UUID, str]) -> config.KeyAction | None:
    match key.action:
        case KeyAction.DIAL_BY_NAME:
            return config.DialByName()
        case KeyAction.PLAY_ANNOUNCEMENT if key.prompt_id is not None:
            return config.PlayAnnouncement(key.prompt_id)
        case KeyAction.TRANSFER if key.target_kind and key.target_id in numbers:
            assert key.target_id is not None  # noqa: S101 - it is in numbers
            return config.Transfer(key.target_kind, numbers[key.target_id])
        case KeyAction.OPEN_MENU if key.menu_id is not None:
            return config.OpenMenu(str(key.menu_id))
        case _:  # what the key pointed at is gone
            return None
