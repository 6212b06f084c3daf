"""`rcp.values.Value`: what declaring a value by subclassing gives."""

from __future__ import annotations

import dataclasses

import pytest
from rcp.values import Value


class Key(Value):
    digit: str
    label: str = ""


class _Typed(Value):
    letters: str


class Spelled(_Typed):
    page: int


def test_a_value_cannot_be_changed_once_made() -> None:
    key = Key("1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.digit = "2"  # type: ignore[misc]


def test_values_with_the_same_fields_are_equal_and_hash_alike() -> None:
    assert Key("1", "sales") == Key("1", "sales")
    assert Key("1", "sales") != Key("1", "support")
    assert len({Key("1"), Key("1"), Key("2")}) == 2


def test_a_value_holds_its_fields_in_slots_without_an_instance_dict() -> None:
    assert vars(Key)["__slots__"] == ("digit", "label")
    assert not hasattr(Key("1"), "__dict__")


def test_a_value_matches_by_position_and_by_keyword() -> None:
    match Key("3", "desk"):
        case Key(digit, label="desk"):
            assert digit == "3"
        case _:
            pytest.fail("a value did not match its own pattern")


def test_a_subclass_of_a_value_is_a_value_with_its_parent_fields_first() -> None:
    spelled = Spelled("52", 2)
    assert [f.name for f in dataclasses.fields(spelled)] == ["letters", "page"]
    assert spelled == Spelled(letters="52", page=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spelled.page = 3  # type: ignore[misc]
    assert not hasattr(spelled, "__dict__")


def test_replace_makes_a_new_value_and_leaves_the_old_one_as_it_was() -> None:
    first = Spelled("52", 2)
    second = dataclasses.replace(first, page=3)
    assert (first.page, second.page, second.letters) == (2, 3, "52")
