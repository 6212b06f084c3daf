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

Beside it, for the searches callers make most (by either name, first page), a table answers
in constant time:

- a dict from every prefix of up to `TABLE_DIGITS` digits of every key to a span of one
  `array('I')` holding that prefix's matches already ranked (position << 1 | kind), so that
  a search is one dict get and a slice, whatever the tenant's size;
- each entry's answer already encoded as the search contract's JSON (`SearchMatch` of
  `rcp.contracts.directory`, up to its `whole_name`), so that a page's reply is assembled
  from bytes (`search_json`).

Longer prefixes, a search by one of the names and the pages after the first are answered by
the binary search above. Each entry's cursor (`cursor.cursor_tail`: where a next page starts
when a page ends on it) is encoded at build too. The table, the JSON and the cursors cost
about 350 bytes per entry more (see bench/directory/README.md).
"""

from __future__ import annotations

import json
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from enum import IntEnum, StrEnum
from typing import NamedTuple
from uuid import UUID

from rcp.values import Value

from rcp_directory.cursor import CURSOR_HEADS, Position, cursor_tail
from rcp_directory.keypad import keys_of_parts, name_parts

KEY_DIGITS = 16
"""Digits of a key kept in the index; longer prefixes are checked against the name."""

TABLE_DIGITS = 8
"""Prefixes up to this many digits are answered from the table (see the module's doc)."""

_HEX = str.maketrans("23456789", "12345678")
_NO_PROMPT = bytes(16)
_REF_BITS = 32
_REF_MASK = (1 << _REF_BITS) - 1
_SPAN_BITS = 32
_SPAN_MASK = (1 << _SPAN_BITS) - 1
# What closes an entry's JSON, by `Kind`: followed by another entry, or the last of its page.
_NEXT_ENTRY = (b"true},", b"false},")
_LAST_ENTRY = (b"true}]", b"false}]")
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


class Page(Value):
    """One page of a search's matches, their total, and where the next page starts."""

    matches: tuple[Match, ...]
    total: int
    next_after: Position | None


class Found:
    """One page of a search with its matches encoded: `matches_json` is the JSON array of
    the search contract's `SearchMatch`es, best first; `next_cursor` where the next page
    starts (`cursor.encode_cursor` of `next_after`, encoded with the index), None on the last
    page."""

    __slots__ = ("_index", "_last", "matches_json", "next_cursor", "total")

    def __init__(
        self, matches_json: bytes, total: int, index: TenantIndex, last: int | None
    ) -> None:
        self.matches_json = matches_json
        self.total = total
        self._index = index
        self._last = last
        self.next_cursor = None if last is None else index.cursor(last)

    @property
    def next_after(self) -> Position | None:
        """The position of the page's last match when another page follows, else None."""
        return None if self._last is None else self._index.position(self._last)


class _Ranked(NamedTuple):
    """A page's matches (position << 1 | kind, best first), their total, and the last of
    them if another page follows (None: the last page)."""

    chosen: Sequence[int]
    total: int
    last: int | None


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


def _entry_json(item: Listing) -> bytes:
    """An entry's `SearchMatch` JSON up to the value of its last field, `whole_name`."""
    fields = {
        "number": item.number,
        "first_name": item.first_name,
        "last_name": item.last_name,
        "display_name": item.display_name,
        "name_prompt_id": None if item.name_prompt_id is None else str(item.name_prompt_id),
    }
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return f'{encoded[:-1]},"whole_name":'.encode()


def _table(keyed: Iterable[tuple[str, int, int]], depth: int) -> tuple[dict[str, int], array[int]]:
    """The prefix table of (key, position, kind) rows: each prefix of at most `depth` digits
    to its span (start << 32 | count) of one array of ranked matches (position << 1 | kind)."""
    best: dict[str, dict[int, int]] = {}
    for key, position, kind in keyed:
        for length in range(1, min(len(key), depth) + 1):
            found = best.setdefault(key[:length], {})
            if found.get(position, Kind.PART) >= kind:
                found[position] = kind
    ranked = array("I")
    spans: dict[str, int] = {}
    for prefix, found in best.items():
        spans[prefix] = len(ranked) << _SPAN_BITS | len(found)
        ranked.extend(
            sorted((position << 1 | kind for position, kind in found.items()), key=_rank_order)
        )
    return spans, ranked


def _rank_order(value: int) -> int:
    """Whole-name matches first, then by position (position << 1 | kind)."""
    return (value & 1) << _REF_BITS | value >> 1


class TenantIndex:
    """The reachable-by-name extensions of one tenant, ready to search."""

    __slots__ = (
        "_by_number",
        "_cursor_starts",
        "_cursors",
        "_json",
        "_keys",
        "_numbers",
        "_prompts",
        "_ranked",
        "_refs",
        "_spans",
        "_starts",
        "_table_digits",
        "_text",
    )

    def __init__(self, listings: Iterable[Listing], table_digits: int = TABLE_DIGITS) -> None:
        """Index the listings; prefixes of up to `table_digits` digits go in the table."""
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
        self._json = tuple(_entry_json(item) for item in ordered)
        # Each entry's cursor (`cursor.cursor_tail`), in one bytes with its offsets.
        tails = [
            cursor_tail(*_sort_key_of(last, first, item.number)) for last, first, item in folded
        ]
        self._cursors = b"".join(tails)
        cursor_starts = array("I", [0])
        for tail in tails:
            cursor_starts.append(cursor_starts[-1] + len(tail))
        self._cursor_starts = cursor_starts
        packed: list[int] = []
        keyed: list[tuple[str, int, int]] = []
        for position, (last_parts, first_parts, _) in enumerate(folded):
            for field, parts in ((Field.LAST, last_parts), (Field.FIRST, first_parts)):
                keys = keys_of_parts(parts)
                base = position << 2 | field << 1
                if keys.whole:
                    packed.append(_pack(keys.whole) << _REF_BITS | base | Kind.WHOLE)
                    keyed.append((keys.whole, position, Kind.WHOLE))
                packed.extend(_pack(part) << _REF_BITS | base | Kind.PART for part in keys.parts)
                keyed.extend((part, position, Kind.PART) for part in keys.parts)
        self._table_digits = table_digits
        self._spans, self._ranked = _table(keyed, table_digits)
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
        """Memory held by this index, in bytes (the table's keys and spans, and each entry's
        JSON, counted one by one)."""
        own = sum(sys.getsizeof(getattr(self, name)) for name in self.__slots__)
        table = sum(
            sys.getsizeof(prefix) + sys.getsizeof(span) for prefix, span in self._spans.items()
        )
        return own + table + sum(map(sys.getsizeof, self._json))

    def listing(self, position: int) -> Listing:
        """The entry at a position (0 ranks first by last name, first name, number)."""
        number, first_name, last_name = self._names(position)
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
        chosen, total, last = self._ranked_page(digits, mode, limit, after)
        matches = tuple(Match(self.listing(value >> 1), _KINDS[value & 1]) for value in chosen)
        return Page(matches, total, None if last is None else self.position(last))

    def search_json(
        self, digits: str, mode: Mode, limit: int, after: Position | None = None
    ) -> Found:
        """`search`, with the page's matches encoded as JSON from each entry's own."""
        chosen, total, last = self._ranked_page(digits, mode, limit, after)
        if not chosen:
            return Found(b"[]", total, self, None)
        entries = self._json
        parts = [b"["]
        for value in chosen:
            parts += (entries[value >> 1], _NEXT_ENTRY[value & 1])
        parts[-1] = _LAST_ENTRY[chosen[-1] & 1]
        return Found(b"".join(parts), total, self, last)

    def cursor(self, value: int) -> bytes:
        """The cursor (`cursor.encode_cursor`, as bytes) of the position of a match
        (position << 1 | kind)."""
        position = value >> 1
        starts = self._cursor_starts
        return CURSOR_HEADS[value & 1] + self._cursors[starts[position] : starts[position + 1]]

    def _ranked_page(self, digits: str, mode: Mode, limit: int, after: Position | None) -> _Ranked:
        """A page's matches: from the table when it holds the answer, else by binary search."""
        if after is None and mode is Mode.EITHER and len(digits) <= self._table_digits:
            span = self._spans.get(digits)
            if span is None:
                return _Ranked((), 0, None)
            start, total = span >> _SPAN_BITS, span & _SPAN_MASK
            if total <= limit:
                return _Ranked(self._ranked[start : start + total], total, None)
            chosen = self._ranked[start : start + limit]
            return _Ranked(chosen, total, chosen[-1])
        best = self._best_kinds(digits, mode)
        ranked = sorted(kind << _REF_BITS | position for position, kind in best.items())
        start = 0 if after is None else bisect_right(ranked, after, key=self._rank_position)
        page = [
            (value & _REF_MASK) << 1 | value >> _REF_BITS for value in ranked[start : start + limit]
        ]
        more = start + limit < len(ranked)
        return _Ranked(page, len(ranked), page[-1] if more else None)

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

    def _names(self, position: int) -> list[str]:
        """The number, first and last name of the entry at a position."""
        return self._text[self._starts[position] : self._starts[position + 1]].split(_SEPARATOR)

    def position(self, value: int) -> Position:
        """Where a match (position << 1 | kind) ranks."""
        number, first_name, last_name = self._names(value >> 1)
        return (value & 1, *_sort_key_of(name_parts(last_name), name_parts(first_name), number))

    def _rank_position(self, value: int) -> Position:
        """Where a match (kind << 32 | position) ranks."""
        return (value >> _REF_BITS, *_sort_key(self.listing(value & _REF_MASK)))
