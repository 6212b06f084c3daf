"""The outbound policy engine (libs/rcp/outbound.py): numbers classified by phonenumbers, and
each rule of the decision, in order."""

from __future__ import annotations

import pytest
from rcp.outbound import (
    LIMIT_BOUNDS,
    OutboundPolicy,
    Refusal,
    TenantLimits,
    check,
    classify,
    region_of_locale,
)
from rcp.vocabulary import NumberType

FRANCE = OutboundPolicy.default_for("fr-FR")


@pytest.mark.parametrize(
    ("number", "region", "number_type", "valid"),
    [
        ("+33199000104", "FR", NumberType.FIXED_LINE, True),
        ("+33612345678", "FR", NumberType.MOBILE, True),
        ("+33899123456", "FR", NumberType.PREMIUM_RATE, True),
        ("+33810123456", "FR", NumberType.SHARED_COST, True),
        ("+33800123456", "FR", NumberType.TOLL_FREE, True),
        ("+33939123456", "FR", NumberType.VOIP, True),
        ("+447012345678", "GB", NumberType.PERSONAL_NUMBER, True),
        ("+445512345678", "GB", NumberType.UAN, True),
        ("+12015550123", "US", NumberType.FIXED_LINE_OR_MOBILE, True),
        ("+881612345678", "001", NumberType.MOBILE, True),  # Iridium, a satellite phone
        ("+3319123456789", "FR", NumberType.UNKNOWN, False),  # one digit too many
        ("+", None, NumberType.UNKNOWN, False),
    ],
)
def test_numbers_are_classified_by_type_and_country(
    number: str, region: str | None, number_type: NumberType, valid: bool
) -> None:
    destination = classify(number)
    assert (destination.region, destination.number_type, destination.valid) == (
        region,
        number_type,
        valid,
    )


@pytest.mark.parametrize(
    ("number", "refusal"),
    [
        ("+33199000104", None),  # fixed line at home
        ("+33612345678", None),  # mobile at home
        ("+33899123456", Refusal.NUMBER_TYPE),  # premium rate
        ("+33810123456", Refusal.NUMBER_TYPE),  # shared cost
        ("+33939123456", Refusal.NUMBER_TYPE),  # VoIP
        ("+33800123456", Refusal.NUMBER_TYPE),  # toll free: only once its type is allowed
        ("+881612345678", Refusal.NON_GEOGRAPHIC),  # satellite
        ("+883510012345678", Refusal.NON_GEOGRAPHIC),  # an international network
        ("+353861234567", Refusal.INTERNATIONAL),  # an Irish mobile
        ("+447012345678", Refusal.INTERNATIONAL),  # a UK personal number
        ("+3319123456789", Refusal.INVALID_NUMBER),
    ],
)
def test_the_default_policy_allows_only_fixed_lines_and_mobiles_of_the_tenants_country(
    number: str, refusal: Refusal | None
) -> None:
    verdict = check(FRANCE, number)
    assert verdict.refusal == refusal
    assert verdict.allowed is (refusal is None)


def test_an_allowed_country_opens_its_fixed_lines_and_mobiles_but_not_its_premium_numbers() -> None:
    policy = OutboundPolicy(home_region="FR", allowed_regions=frozenset({"IE", "GB"}))
    assert check(policy, "+353861234567").allowed
    assert check(policy, "+442079460000").allowed
    assert check(policy, "+448712345678").refusal is Refusal.NUMBER_TYPE
    assert check(policy, "+4915112345678").refusal is Refusal.INTERNATIONAL


def test_an_allowed_type_opens_it_at_home_only() -> None:
    policy = OutboundPolicy(
        home_region="FR", allowed_types=frozenset({NumberType.FIXED_LINE, NumberType.TOLL_FREE})
    )
    assert check(policy, "+33800123456").allowed
    assert check(policy, "+33612345678").refusal is Refusal.NUMBER_TYPE
    assert check(policy, "+448001234567").refusal is Refusal.INTERNATIONAL


def test_an_allowed_prefix_opens_anything_under_it_even_satellite_and_premium() -> None:
    policy = OutboundPolicy(home_region="FR", allowed_prefixes=("+8816", "+33899123"))
    verdict = check(policy, "+881612345678")
    assert verdict.allowed
    assert verdict.prefix == "+8816"
    assert check(policy, "+33899123456").allowed
    assert check(policy, "+33899999999").refusal is Refusal.NUMBER_TYPE


def test_the_deny_list_always_wins() -> None:
    policy = OutboundPolicy(
        home_region="FR",
        allowed_regions=frozenset({"IE"}),
        allowed_prefixes=("+3361234",),
        denied_prefixes=("+336123", "+3538"),
    )
    denied = check(policy, "+33612345678")
    assert (denied.refusal, denied.prefix) == (Refusal.DENIED_PREFIX, "+336123")
    assert check(policy, "+353861234567").refusal is Refusal.DENIED_PREFIX
    assert check(policy, "+33612000000").allowed  # under neither denied prefix


def test_a_verdict_details_give_the_reason_type_and_country() -> None:
    assert check(FRANCE, "+448712345678").details() == {
        "refusal": "international",
        "number_type": "premium_rate",
        "country": "GB",
        "prefix": None,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"home_region": "France"},
        {"home_region": "FR", "allowed_regions": frozenset({"fr"})},
        {"home_region": "FR", "allowed_prefixes": ("3389",)},
        {"home_region": "FR", "denied_prefixes": ("+33 89",)},
        {"home_region": "FR", "allowed_types": frozenset({"premium"})},
    ],
)
def test_a_malformed_policy_is_refused_when_built(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        OutboundPolicy(**bad)  # type: ignore[arg-type]


def test_the_home_country_comes_from_the_locale() -> None:
    assert region_of_locale("fr-FR") == "FR"
    assert region_of_locale("en-GB") == "GB"
    with pytest.raises(ValueError, match="no country"):
        region_of_locale("fr")


def test_limits_outside_their_bounds_are_refused() -> None:
    assert TenantLimits().max_inbound_calls == 30
    for name, (low, high) in LIMIT_BOUNDS.items():
        with pytest.raises(ValueError, match=name):
            TenantLimits(**{name: low - 1})
        with pytest.raises(ValueError, match=name):
            TenantLimits(**{name: high + 1})
