"""Values: immutable records compared by their fields, declared by subclassing `Value`.

The call flow's events, commands, phases and configuration, and the small records the
services pass through their ports, are all values: frozen (a value never changes; a new one
replaces it), slotted (a call holds many of them: no per-instance `__dict__`), equal when
their fields are equal, and usable in `match` by position. `class Digit(Value)` declares
one with these properties; the metaclass applies `dataclasses.dataclass(frozen=True,
slots=True)` to every subclass, and `dataclass_transform` tells type checkers so.

A subclass of a value is a value (`class NameEntry(_ByName)` where `_ByName` is one).
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from typing_extensions import dataclass_transform


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
class _ValueType(type):
    """Makes each class it creates a frozen, slotted dataclass."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> _ValueType:
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        # A body that declares its slots is `Value` itself, or the class that `dataclass`
        # rebuilds with the slots of its fields: both are taken as they are.
        if "__slots__" in namespace:
            return cls
        return cast(_ValueType, dataclasses.dataclass(frozen=True, slots=True)(cast(type, cls)))


class Value(metaclass=_ValueType):
    """The base of every value (see the module's docstring)."""

    __slots__ = ()
