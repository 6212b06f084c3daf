"""One tenant's dial-by-name index: compact, immutable, searched by binary search.

Pure and synchronous. A carrier has about a million extensions, so the index is laid out
for memory, not as Python objects per entry or a dict of every prefix:

- each name's keys (see `keypad.name_keys`) are packed into one 64-bit integer, 4 bits per
  digit (2-9 as 1-8, 0 pads), first 16 digits; all keys of a tenant sit in one sorted
  `array('Q')` beside an `array('I')` of references (entry, field, whole or part). Fixed
  width makes numeric order the same as the digit strings' order, so the keys that start
  with a prefix are one contiguous range found with two bisections. A prefix longer than 16
  digits is matched on its first 16, then checked against the entry's name.
- entries are sorted by last name, first name, number at build time, so that an entry's
  position is its rank among matches of the same kind; their text is one string with an
  offsets array, their recorded-name prompt ids one bytes object (16 zero bytes: none).
- extension numbers are integers ("1" + number, so that "07" and "007" differ) in a sorted
  array, for reverse lookups.

That is about 80-90 bytes per entry (see bench/directory), rebuilt whole on every refresh.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from enum import IntEnum, StrEnum
from typing import NamedTuple
from uuid import UUID

from rcp.values import Value

from rcp_directory.keypad import keys_of_parts, name_parts

KEY_DIGITS = 16
"""Digits of a key kept in the index; longer prefixes are checked against the name."""

_HEX = str.maketrans("23456789", "12345678")
_NO_PROMPT = bytes(16)
_REF_BITS = 32
_REF_MASK = (1 << _REF_BITS) - 1
_SEPARATOR = "\x1f"  # names cannot hold control characters (the rcp_name domain refuses them)


class Mode(StrEnum):
    """Which name a search matches."""

    LAST = "last"
    FIRST = "first"
    EITHER = "either"


class Field(IntEnum):
    """The name a key was made from."""

    LAST = 0
    FIRST = 1


class Kind(IntEnum):
    """How a key matched; also the first ranking criterion (whole before part)."""

    WHOLE = 0
    PART = 1


_KINDS = (Kind.WHOLE, Kind.PART)

# Bit `Field` of a mode's mask says whether that field's keys count.
_FIELD_MASKS = {
    Mode.LAST: 1 << Field.LAST,
    Mode.FIRST: 1 << Field.FIRST,
    Mode.EITHER: 1 << Field.LAST | 1 << Field.FIRST,
}


# Listing and Match are named tuples rather than frozen dataclasses: a search makes one of
# each per match shown, and a tuple is made several times faster.
class Listing(NamedTuple):
    """An extension as the directory knows it."""

    number: str
    first_name: str
    last_name: str
    name_prompt_id: UUID | None = None

    @property
    def display_name(self) -> str:
        """First and last name, as a person reads them."""
        return f"{self.first_name} {self.last_name}".strip()


class Match(NamedTuple):
    """A listing found by a search, and whether the whole name matched or only a part."""

    listing: Listing
    kind: Kind


Position = tuple[int, str, str, str]
"""Where a match ranks: its kind, then last name, first name and number as sorted."""


class Page(Value):
    """One page of a search's matches, their total, and where the next page starts."""

    matches: tuple[Match, ...]
    total: int
    next_after: Position | None


def _sort_key(listing: Listing) -> tuple[str, str, str]:
    return _sort_key_of(
        name_parts(listing.last_name), name_parts(listing.first_name), listing.number
    )


def _sort_key_of(
    last_parts: tuple[str, ...], first_parts: tuple[str, ...], number: str
) -> tuple[str, str, str]:
    first, last = "".join(first_parts), "".join(last_parts)
    # An entry with a first name only ("Accueil") sorts by it, not before everyone.
    return (last or first, first, number)


def _pack(digits: str, pad: str = "0") -> int:
    return int(digits[:KEY_DIGITS].translate(_HEX).ljust(KEY_DIGITS, pad), 16)


def _number_key(number: str) -> int:
    return int("1" + number)


class TenantIndex:
    """The reachable-by-name extensions of one tenant, ready to search."""

    __slots__ = ("_by_number", "_keys", "_numbers", "_prompts", "_refs", "_starts", "_text")

    def __init__(self, listings: Iterable[Listing]) -> None:
        folded = [
            (name_parts(item.last_name), name_parts(item.first_name), item) for item in listings
        ]
        folded.sort(key=lambda row: _sort_key_of(row[0], row[1], row[2].number))
        ordered = [item for _, _, item in folded]
        self._text = "".join(
            _SEPARATOR.join((item.number, item.first_name, item.last_name)) for item in ordered
        )
        starts = array("I", [0])
        for item in ordered:
            starts.append(
                starts[-1] + len(item.number) + 1 + len(item.first_name) + 1 + len(item.last_name)
            )
        self._starts = starts
        self._prompts = b"".join(
            item.name_prompt_id.bytes if item.name_prompt_id else _NO_PROMPT for item in ordered
        )
        packed: list[int] = []
        for position, (last_parts, first_parts, _) in enumerate(folded):
            for field, parts in ((Field.LAST, last_parts), (Field.FIRST, first_parts)):
                keys = keys_of_parts(parts)
                base = position << 2 | field << 1
                if keys.whole:
                    packed.append(_pack(keys.whole) << _REF_BITS | base | Kind.WHOLE)
                packed.extend(_pack(part) << _REF_BITS | base | Kind.PART for part in keys.parts)
        packed.sort()
        self._keys = array("Q", [value >> _REF_BITS for value in packed])
        self._refs = array("I", [value & _REF_MASK for value in packed])
        numbered = sorted(
            (_number_key(item.number), position) for position, item in enumerate(ordered)
        )
        self._numbers = array("Q", [number for number, _ in numbered])
        self._by_number = array("I", [position for _, position in numbered])

    def __len__(self) -> int:
        return len(self._starts) - 1

    @property
    def nbytes(self) -> int:
        """Memory held by this index, in bytes."""
        return sum(sys.getsizeof(getattr(self, name)) for name in self.__slots__)

    def listing(self, position: int) -> Listing:
        """The entry at a position (0 ranks first by last name, first name, number)."""
        record = self._text[self._starts[position] : self._starts[position + 1]]
        number, first_name, last_name = record.split(_SEPARATOR)
        prompt = self._prompts[16 * position : 16 * position + 16]
        return Listing(
            number=number,
            first_name=first_name,
            last_name=last_name,
            name_prompt_id=UUID(bytes=prompt) if prompt != _NO_PROMPT else None,
        )

    def find(self, number: str) -> Listing | None:
        """Reverse lookup: the entry with this extension number, if it is listed."""
        key = _number_key(number)
        at = bisect_left(self._numbers, key)
        if at == len(self._numbers) or self._numbers[at] != key:
            return None
        return self.listing(self._by_number[at])

    def search(self, digits: str, mode: Mode, limit: int, after: Position | None = None) -> Page:
        """The entries whose name starts with `digits` (validated 2-9), best first.

        Whole-name matches rank before part matches, then by last name, first name, number.
        `after` is the position of the last match of the previous page.
        """
        best = self._best_kinds(digits, mode)
        ranked = sorted(kind << _REF_BITS | position for position, kind in best.items())
        start = 0 if after is None else bisect_right(ranked, after, key=self._position)
        chosen = ranked[start : start + limit]
        matches = tuple(
            Match(self.listing(value & _REF_MASK), _KINDS[value >> _REF_BITS]) for value in chosen
        )
        more = start + limit < len(ranked)
        return Page(matches, len(ranked), self._position(chosen[-1]) if more else None)

    def _best_kinds(self, digits: str, mode: Mode) -> dict[int, int]:
        """Each matching entry's position, with its best kind of match (a `Kind` value)."""
        low = bisect_left(self._keys, _pack(digits, "0"))
        high = bisect_right(self._keys, _pack(digits, "f"), lo=low)
        wanted = _FIELD_MASKS[mode]
        every_field = mode is Mode.EITHER
        long_prefix = len(digits) > KEY_DIGITS
        best: dict[int, int] = {}
        # The hot loop of every search: plain integers, no enum construction.
        for ref in self._refs[low:high]:
            field = ref >> 1 & 1
            if not (every_field or wanted >> field & 1):
                continue
            position, kind = ref >> 2, ref & 1
            if long_prefix and not self._spells(position, Field(field), Kind(kind), digits):
                continue
            previous = best.get(position)
            if previous is None or kind < previous:
                best[position] = kind
        return best

    def _spells(self, position: int, field: Field, kind: Kind, digits: str) -> bool:
        """Whether the entry's name (whole or from a part) really starts with every digit."""
        listing = self.listing(position)
        name = listing.last_name if field is Field.LAST else listing.first_name
        keys = keys_of_parts(name_parts(name))
        candidates = (keys.whole,) if kind is Kind.WHOLE else keys.parts
        return any(key.startswith(digits) for key in candidates)

    def _position(self, value: int) -> Position:
        return (value >> _REF_BITS, *_sort_key(self.listing(value & _REF_MASK)))
