"""Outbound calls a tenant may make: what a number is, whether its policy allows it, its caps.

Pure: no I/O. Numbers are classified with `phonenumbers` (Google's libphonenumber metadata:
validity, number type, region). Each tenant's `OutboundPolicy` and `TenantLimits` belong to
the carrier (tables `outbound_policies` and `tenant_limits`; a tenant without a row gets the
defaults below, which the migration's column defaults repeat). The admin service checks a
virtual extension's number when it is written; the stasis service checks it again when its
configuration is loaded, so that a policy tightened later applies to what was saved before.

The decision, in order (the first rule that applies):
1. a number under a denied prefix is refused (the deny-list always wins);
2. a number under an allowed prefix is allowed (the carrier chose it explicitly, whatever it is);
3. a number that is not valid (unknown range, wrong length) is refused;
4. a non-geographic number (country code 800, 808, 870, 878, 881, 882, 883, 888, 979:
   satellite phones, international networks, international freephone and premium rate) is
   refused;
5. a number of another country than the tenant's own and those allowed is refused;
6. a number whose type is not allowed is refused: by default only fixed-line and mobile
   (and fixed_line_or_mobile, for countries whose numbering cannot tell them apart); premium
   rate, shared cost, personal numbers, UAN, VoIP, pagers, voicemail access, toll free and
   unknown types are allowed only by adding their type or a prefix.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Protocol

import phonenumbers
from phonenumbers import PhoneNumberType

from rcp.values import Value
from rcp.vocabulary import NumberType

NON_GEOGRAPHIC_REGION = "001"
"""phonenumbers' region of the non-geographic country codes."""

REGION = re.compile(r"^[A-Z]{2}$")
PREFIX = re.compile(r"^\+[0-9]{1,15}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MAX_LIST = 1000


_TYPES = {
    PhoneNumberType.FIXED_LINE: NumberType.FIXED_LINE,
    PhoneNumberType.MOBILE: NumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: NumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.TOLL_FREE: NumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE: NumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST: NumberType.SHARED_COST,
    PhoneNumberType.VOIP: NumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER: NumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER: NumberType.PAGER,
    PhoneNumberType.UAN: NumberType.UAN,
    PhoneNumberType.VOICEMAIL: NumberType.VOICEMAIL,
}

DEFAULT_NUMBER_TYPES = frozenset(
    {NumberType.FIXED_LINE, NumberType.MOBILE, NumberType.FIXED_LINE_OR_MOBILE}
)


class Destination(Value):
    """An outside number as the numbering plan knows it."""

    e164: str
    valid: bool
    # ISO 3166 alpha-2 ("FR"), "001" for a non-geographic code, None when unknown.
    region: str | None
    number_type: NumberType

    @property
    def non_geographic(self) -> bool:
        """Satellite phones, international networks, international freephone and premium."""
        return self.region == NON_GEOGRAPHIC_REGION


def classify(e164: str) -> Destination:
    """What `e164` is; anything unparseable is an invalid number of unknown type."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return Destination(e164, valid=False, region=None, number_type=NumberType.UNKNOWN)
    valid = phonenumbers.is_valid_number(number)
    region = phonenumbers.region_code_for_number(number)
    kind = _TYPES.get(phonenumbers.number_type(number), NumberType.UNKNOWN)
    return Destination(e164, valid=valid, region=region, number_type=kind)


class Refusal(StrEnum):
    """Why a destination is not allowed (the rule of the module's docstring that refused it)."""

    DENIED_PREFIX = "denied_prefix"
    INVALID_NUMBER = "invalid_number"
    NON_GEOGRAPHIC = "non_geographic"
    INTERNATIONAL = "international"
    NUMBER_TYPE = "number_type"


def region_of_locale(locale: str) -> str:
    """The country of a locale such as fr-FR (its region part)."""
    _, dash, region = locale.rpartition("-")
    if not dash or not REGION.match(region):
        raise ValueError(f"no country in the locale {locale!r}")
    return region


class OutboundPolicy(Value):
    """Which outside numbers a tenant may call: set by the carrier, validated when built."""

    home_region: str
    allowed_regions: frozenset[str] = frozenset()
    allowed_types: frozenset[NumberType] = DEFAULT_NUMBER_TYPES
    allowed_prefixes: tuple[str, ...] = ()
    denied_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for region in (self.home_region, *self.allowed_regions):
            if not REGION.match(region):
                raise ValueError(f"{region!r} is not an ISO 3166 country code such as FR")
        for prefix in (*self.allowed_prefixes, *self.denied_prefixes):
            if not PREFIX.match(prefix):
                raise ValueError(f"{prefix!r} is not a number prefix such as +3389")
        for items in (self.allowed_regions, self.allowed_prefixes, self.denied_prefixes):
            if len(items) > MAX_LIST:
                raise ValueError(f"at most {MAX_LIST} countries or prefixes in a list")
        object.__setattr__(self, "allowed_types", frozenset(map(NumberType, self.allowed_types)))

    @classmethod
    def default_for(cls, locale: str) -> OutboundPolicy:
        """The default policy of a tenant whose locale is `locale`: its own country only."""
        return cls(home_region=region_of_locale(locale))


class Verdict(Value):
    """Whether a tenant may call a destination, and why not."""

    destination: Destination
    refusal: Refusal | None = None
    # The prefix that decided (allow-list or deny-list), if one did.
    prefix: str | None = None

    @property
    def allowed(self) -> bool:
        """Whether the call may be placed."""
        return self.refusal is None

    def details(self) -> dict[str, str | None]:
        """What an error or a trace says about it: the rule that refused it, the number's type and
        country, the prefix that decided."""
        return {
            "refusal": self.refusal.value if self.refusal else None,
            "number_type": self.destination.number_type.value,
            "country": self.destination.region,
            "prefix": self.prefix,
        }


def _longest(prefixes: tuple[str, ...], e164: str) -> str | None:
    matching = [prefix for prefix in prefixes if e164.startswith(prefix)]
    return max(matching, key=len) if matching else None


def decide(policy: OutboundPolicy, destination: Destination) -> Verdict:
    """The policy's verdict on a classified destination (rules in the module's docstring)."""
    e164 = destination.e164
    if (denied := _longest(policy.denied_prefixes, e164)) is not None:
        return Verdict(destination, Refusal.DENIED_PREFIX, denied)
    if (allowed := _longest(policy.allowed_prefixes, e164)) is not None:
        return Verdict(destination, None, allowed)
    return Verdict(destination, _refusal(policy, destination))


def _refusal(policy: OutboundPolicy, destination: Destination) -> Refusal | None:
    region = destination.region
    if not destination.valid:
        return Refusal.INVALID_NUMBER
    if destination.non_geographic:
        return Refusal.NON_GEOGRAPHIC
    if region != policy.home_region and region not in policy.allowed_regions:
        return Refusal.INTERNATIONAL
    if destination.number_type not in policy.allowed_types:
        return Refusal.NUMBER_TYPE
    return None


def check(policy: OutboundPolicy, e164: str) -> Verdict:
    """Classify `e164` and decide on it."""
    return decide(policy, classify(e164))


class TenantLimits(Value):
    """A tenant's caps, set by the carrier; each stasis node applies them to its own calls."""

    # Calls in the receptionist at once; past it a call gets a busy signal.
    max_inbound_calls: int = 30
    # Outside legs (virtual extensions, each one of a ring group) ringing or bridged at once.
    max_outbound_legs: int = 10
    # Outside legs dialled in any minute.
    max_outbound_legs_per_minute: int = 20
    # The longest a caller may stay bridged to an outside number.
    max_outbound_call_s: int = 3600

    def __post_init__(self) -> None:
        for name, (low, high) in LIMIT_BOUNDS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, not {value}")


LIMIT_BOUNDS: dict[str, tuple[int, int]] = {
    "max_inbound_calls": (1, 10_000),
    "max_outbound_legs": (0, 10_000),
    "max_outbound_legs_per_minute": (0, 100_000),
    "max_outbound_call_s": (10, 86_400),
}
"""The range of each limit (the migration's check constraints say the same)."""


class Row(Protocol):
    """A database row read by column name (an asyncpg Record, a dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


POLICY_COLUMNS = (
    "home_region",
    "allowed_regions",
    "allowed_number_types",
    "allowed_prefixes",
    "denied_prefixes",
)
"""The columns of `outbound_policies` that make a policy."""


def policy_of(row: Row | None, locale: str) -> OutboundPolicy:
    """A tenant's policy from its `outbound_policies` row (POLICY_COLUMNS); without a row, the
    default; a NULL home region is the country of the tenant's locale."""
    if row is None:
        return OutboundPolicy.default_for(locale)
    return OutboundPolicy(
        home_region=row["home_region"] or region_of_locale(locale),
        allowed_regions=frozenset(row["allowed_regions"]),
        allowed_types=frozenset(NumberType(t) for t in row["allowed_number_types"]),
        allowed_prefixes=tuple(row["allowed_prefixes"]),
        denied_prefixes=tuple(row["denied_prefixes"]),
    )


def limits_of(row: Row | None) -> TenantLimits:
    """A tenant's limits from its `tenant_limits` row; without a row, the defaults."""
    if row is None:
        return TenantLimits()
    return TenantLimits(**{name: row[name] for name in LIMIT_BOUNDS})
