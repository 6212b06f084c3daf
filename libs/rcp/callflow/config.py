"""A tenant's receptionist configuration as the call flow sees it: immutable, shared by calls.

It mirrors the tables the admin service writes (receptionists, menus, key_assignments,
extensions, ring_groups and their members, conference_rooms), with references resolved to
numbers. A call
keeps the configuration it started with until a config-changed event hands it a new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from uuid import UUID

from rcp.contracts.receptionist import SettingsDoc
from rcp.endpoints import DEFAULT_TRUNK_DIAL_TEMPLATE
from rcp.outbound import OutboundPolicy, TenantLimits, Verdict, check
from rcp.schedule import Schedule
from rcp.values import Value
from rcp.vocabulary import ExtensionKind, NoAnswerAction, RingStrategy, TargetKind

DIALPAD_DIGITS = "0123456789"


class FlowOptions(Value):
    """Service-wide knobs of the call flow (the tenant's own are in its configuration)."""

    # How a virtual extension's outside number is dialled; {number} is its E.164 number.
    trunk_dial_template: str = DEFAULT_TRUNK_DIAL_TEMPLATE
    # Development only: physical extensions may ring the local stack's Local test phones.
    allow_test_phones: bool = False
    # PJSIP endpoints no extension may ring (the carrier trunk).
    reserved_endpoints: frozenset[str] = frozenset({"carrier"})
    name_digits: int = 3
    matches_per_page: int = 8
    pin_max_tries: int = 3
    max_extension_digits: int = 10
    voicemail_max_s: int = 120
    voicemail_silence_s: int = 5
    # A shorter recording is taken for a caller who said nothing.
    voicemail_min_s: float = 1.0


class Extension(Value):
    """One extension of the numbering plan."""

    number: str
    kind: ExtensionKind
    first_name: str = ""
    last_name: str = ""
    # The Asterisk endpoint of its device (or a dial string saved before devices existed,
    # which the call flow rings only if it is a device's endpoint).
    endpoint: str | None = None
    external_number: str | None = None
    voicemail_enabled: bool = True
    reachable_by_extension: bool = True
    reachable_by_name: bool = True
    name_prompt_id: UUID | None = None
    # What callers hear before the beep instead of "you have reached the voicemail of ...".
    voicemail_greeting_prompt_id: UUID | None = None

    @property
    def name(self) -> str:
        """The name a caller hears: first and last name, whichever exist."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class RingGroup(Value):
    """Extensions rung together or in turn, with what to do when nobody answers."""

    number: str
    name: str
    members: tuple[str, ...]
    strategy: RingStrategy = RingStrategy.SIMULTANEOUS
    ring_seconds: int = 20
    no_answer_action: NoAnswerAction = NoAnswerAction.MENU
    no_answer_extension: str | None = None


class ConferenceRoom(Value):
    """A mixing bridge callers join, behind a PIN when it has one (stored hashed: `rcp.pins`)."""

    number: str
    name: str
    pin_hash: str | None = field(default=None, repr=False)


class DialByName(Value):
    """The key asks for the first letters of a name and looks it up in the directory."""


class PlayAnnouncement(Value):
    """The key plays a prompt, then the menu again."""

    prompt_id: UUID


class Transfer(Value):
    """The key transfers the call to an extension, ring group, conference room or voicemail."""

    kind: TargetKind
    number: str


class OpenMenu(Value):
    """The key takes the caller to another menu (`*` there comes back)."""

    menu_id: str


KeyAction = DialByName | PlayAnnouncement | Transfer | OpenMenu


# A receptionist's settings when it has none of its own: the receptionist document's.
_DEFAULT = SettingsDoc()


class ReceptionistSettings(Value):
    """The receptionists row: greeting, language, dial-extension, time-outs and retries."""

    greeting_prompt_id: UUID | None = None
    language: str = _DEFAULT.language
    dial_extension_enabled: bool = _DEFAULT.dial_extension_enabled
    menu_timeout_s: int = _DEFAULT.menu_timeout_s
    inter_digit_timeout_s: int = _DEFAULT.inter_digit_timeout_s
    menu_max_retries: int = _DEFAULT.menu_max_retries
    name_max_retries: int = _DEFAULT.name_max_retries
    transfer_ring_s: int = _DEFAULT.transfer_ring_s
    exhausted_extension: str | None = None


FIRST_MENU = "first"
"""The first menu's id when a configuration names none (tests, a receptionist of old)."""


class Menu(Value):
    """One menu as callers hear it: its keys, and its settings with the inherited ones resolved.

    The first menu is the receptionist itself (its greeting, language and keys); any other
    takes from the receptionist whatever it does not set.
    """

    id: str
    name: str
    keys: Mapping[str, KeyAction]
    language: str = "fr-FR"
    greeting_prompt_id: UUID | None = None
    dial_extension_enabled: bool = False
    menu_timeout_s: int = 5
    inter_digit_timeout_s: int = 3

    @classmethod
    def first(
        cls,
        settings: ReceptionistSettings,
        keys: Mapping[str, KeyAction],
        menu_id: str = FIRST_MENU,
        name: str = "",
    ) -> Menu:
        """The first menu: the receptionist's own settings and keys."""
        return cls(
            id=menu_id,
            name=name,
            keys=MappingProxyType(dict(keys)),
            language=settings.language,
            greeting_prompt_id=settings.greeting_prompt_id,
            dial_extension_enabled=settings.dial_extension_enabled,
            menu_timeout_s=settings.menu_timeout_s,
            inter_digit_timeout_s=settings.inter_digit_timeout_s,
        )


Dialable = Extension | RingGroup | ConferenceRoom


@dataclass(frozen=True)
class TenantConfig:
    """Everything one tenant's calls need, keyed by digit or number; never mutated."""

    tenant_id: UUID
    name: str
    receptionist: ReceptionistSettings = field(default_factory=ReceptionistSettings)
    # The first menu's keys (its settings are the receptionist's).
    keys: Mapping[str, KeyAction] = field(default_factory=dict)
    # The other menus, by id.
    menus: Mapping[str, Menu] = field(default_factory=dict)
    first_menu_id: str = FIRST_MENU
    first_menu_name: str = ""
    # Opening hours, holidays and override: the executor decides the state when a call starts.
    schedule: Schedule = field(default_factory=Schedule)
    # The published version of the receptionist (settings, menus, keys, schedule) this is;
    # None: a tenant that never published, heard as its tables say.
    version: int | None = None
    extensions: Mapping[str, Extension] = field(default_factory=dict)
    ring_groups: Mapping[str, RingGroup] = field(default_factory=dict)
    conference_rooms: Mapping[str, ConferenceRoom] = field(default_factory=dict)
    # The carrier's outbound policy (None: the default one, the language's country only) and
    # the tenant's call limits.
    outbound: OutboundPolicy | None = None
    limits: TenantLimits = field(default_factory=TenantLimits)
    # The first menu, made of the receptionist's settings and `keys`.
    _first: Menu = field(init=False, repr=False, compare=False)
    # Every prefix of a number a caller may dial: decides at once whether a digit can begin one.
    _prefixes: frozenset[str] = field(init=False, repr=False, compare=False)
    # The policy's verdict on each virtual extension's outside number, decided once per
    # configuration (so a call pays nothing for it), by extension number.
    _verdicts: Mapping[str, Verdict] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("keys", "menus", "extensions", "ring_groups", "conference_rooms"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        first = Menu.first(self.receptionist, self.keys, self.first_menu_id, self.first_menu_name)
        object.__setattr__(self, "_first", first)
        prefixes = {
            number[:end] for number in self._dialable_numbers() for end in range(1, len(number))
        }
        object.__setattr__(self, "_prefixes", frozenset(prefixes))
        if self.outbound is None:
            object.__setattr__(
                self, "outbound", OutboundPolicy.default_for(self.receptionist.language)
            )
        policy = self.policy
        verdicts = {
            e.number: check(policy, e.external_number)
            for e in self.extensions.values()
            if e.kind is ExtensionKind.VIRTUAL and e.external_number is not None
        }
        object.__setattr__(self, "_verdicts", MappingProxyType(verdicts))

    @property
    def policy(self) -> OutboundPolicy:
        """The outbound policy in force."""
        assert self.outbound is not None  # noqa: S101 - set in __post_init__
        return self.outbound

    @property
    def first_menu(self) -> Menu:
        """The menu a call starts in (when the schedule names no other)."""
        return self._first

    def menu(self, menu_id: str | None) -> Menu | None:
        """The menu of this id (None: the first one), or None if there is no such menu."""
        if menu_id is None or menu_id == self.first_menu_id:
            return self._first
        return self.menus.get(menu_id)

    def verdict(self, extension: Extension) -> Verdict | None:
        """The outbound policy's verdict on a virtual extension's outside number."""
        return self._verdicts.get(extension.number)

    @classmethod
    def build(
        cls,
        tenant_id: UUID,
        name: str,
        receptionist: ReceptionistSettings,
        keys: Mapping[str, KeyAction],
        extensions: Iterable[Extension] = (),
        ring_groups: Iterable[RingGroup] = (),
        conference_rooms: Iterable[ConferenceRoom] = (),
        outbound: OutboundPolicy | None = None,
        limits: TenantLimits | None = None,
        menus: Iterable[Menu] = (),
        first_menu: tuple[str, str] = (FIRST_MENU, ""),
        schedule: Schedule | None = None,
        version: int | None = None,
    ) -> TenantConfig:
        """A configuration from lists of extensions, groups, rooms and menus (`first_menu`:
        the first menu's id and name)."""
        return cls(
            tenant_id=tenant_id,
            name=name,
            receptionist=receptionist,
            keys=keys,
            extensions={e.number: e for e in extensions},
            ring_groups={g.number: g for g in ring_groups},
            conference_rooms={r.number: r for r in conference_rooms},
            outbound=outbound,
            limits=limits or TenantLimits(),
            menus={m.id: m for m in menus},
            first_menu_id=first_menu[0],
            first_menu_name=first_menu[1],
            schedule=schedule or Schedule(),
            version=version,
        )

    def keeping_receptionist_of(self, started: TenantConfig) -> TenantConfig:
        """This configuration with the receptionist (settings, menus, keys, schedule) of the
        version a call started with: a call keeps its version, and still follows the tenant's
        extensions, groups, rooms and policy as they change."""
        if started.version == self.version:
            return self
        return replace(
            self,
            receptionist=started.receptionist,
            keys=started.keys,
            menus=started.menus,
            first_menu_id=started.first_menu_id,
            first_menu_name=started.first_menu_name,
            schedule=started.schedule,
            version=started.version,
        )

    def _dialable_numbers(self) -> Iterable[str]:
        yield from (e.number for e in self.extensions.values() if e.reachable_by_extension)
        yield from self.ring_groups
        yield from self.conference_rooms

    def dialable(self, number: str) -> Dialable | None:
        """What a caller reaches by dialling `number`; an extension hidden from dialling is None."""
        extension = self.extensions.get(number)
        if extension is not None:
            return extension if extension.reachable_by_extension else None
        return self.ring_groups.get(number) or self.conference_rooms.get(number)

    def begins_a_number(self, digits: str) -> bool:
        """Whether more digits after `digits` could reach something by number."""
        return digits in self._prefixes
