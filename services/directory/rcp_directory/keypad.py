"""Names on a telephone keypad: folding real names to letters, letters to digits.

Pure functions, no I/O: every rule of dial-by-name matching is here and tested table-driven.

Folding uses Unidecode rather than `unicodedata.normalize("NFKD")` alone: NFKD strips
accents (é→e, ñ→n, ç→c) and splits compatibility ligatures (ﬁ→fi), but leaves the letters
that have no decomposition as they are: ß, æ, œ, ø, ł, đ, þ... Unidecode transliterates each
of them the way a French, German, Danish or Norwegian speaker spells them on a keypad
(ß→SS, æ→AE, œ→OE, ø→O, ł→L, þ→TH), and also gives a sensible spelling to names written in
Greek or Cyrillic. Its tables are static data (GPL-2.0-or-later, compatible with this
project's AGPL-3.0-or-later), and it is a small pure-Python package kept up to date upstream.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rcp.values import Value
from unidecode import unidecode

from rcp_directory.errors import EmptyInput, InvalidDigits

# The standard letter layout (ITU E.161): Q on 7, Z on 9.
_LETTER_DIGITS = {
    letter: digit
    for digit, letters in {
        "2": "ABC",
        "3": "DEF",
        "4": "GHI",
        "5": "JKL",
        "6": "MNO",
        "7": "PQRS",
        "8": "TUV",
        "9": "WXYZ",
    }.items()
    for letter in letters
}
_TO_DIGITS = str.maketrans(_LETTER_DIGITS)

# Anything that is not a letter once folded (apostrophes, hyphens, spaces, dots, digits...)
# separates the parts of a name.
_SEPARATORS = re.compile(r"[^A-Z]+")

_KEYPAD = "23456789"
KEYPAD_DIGITS = frozenset(_KEYPAD)


# Names repeat a lot across a carrier (first names above all): folding each distinct name
# once makes building indexes several times faster, for a few megabytes at most.
@lru_cache(maxsize=32768)
def name_parts(name: str) -> tuple[str, ...]:
    """The parts of a name, folded to upper-case A-Z: "Jean-Pierre" -> ("JEAN", "PIERRE")."""
    folded = unidecode(name, errors="ignore").upper()
    return tuple(part for part in _SEPARATORS.split(folded) if part)


def letters_to_digits(letters: str) -> str:
    """The keys that spell upper-case A-Z letters: "LEGALL" -> "534255"."""
    return letters.translate(_TO_DIGITS)


class NameKeys(Value):
    """The digit strings under which a name is found.

    `whole` spells the name from its start with separators ignored; `parts` spell it from
    the start of each later part, through to its end ("van der Berg" -> DERBERG, BERG), so
    that a caller who starts at any part and keeps going is found too.
    """

    whole: str
    parts: tuple[str, ...]


def name_keys(name: str) -> NameKeys:
    """The keys of one name (a first or a last name); empty for a name without letters."""
    return keys_of_parts(name_parts(name))


@lru_cache(maxsize=32768)
def keys_of_parts(parts: tuple[str, ...]) -> NameKeys:
    """The keys of a name already split by `name_parts`."""
    digits = [letters_to_digits(part) for part in parts]
    whole = "".join(digits)
    parts = tuple("".join(digits[start:]) for start in range(1, len(digits)))
    return NameKeys(whole=whole, parts=parts)


def sort_name(name: str) -> str:
    """How a name sorts: folded letters without separators ("Le Gall" -> "LEGALL")."""
    return "".join(name_parts(name))


def parse_digits(text: str) -> str:
    """Validate what a caller typed: only keys 2-9 spell letters.

    Raises `EmptyInput` for nothing at all and `InvalidDigits`, naming each offending
    character and its position, for anything outside 2-9 (0, 1, *, #, letters).
    """
    if not text.strip(_KEYPAD):  # only 2-9 (the usual case, checked at C speed)
        if not text:
            raise EmptyInput("no digits were entered")
        return text
    invalid = [
        {"position": position, "character": character}
        for position, character in enumerate(text)
        if character not in KEYPAD_DIGITS
    ]
    if invalid:
        shown = ", ".join(repr(item["character"]) for item in invalid)
        raise InvalidDigits(
            f"only the keys 2-9 spell names; {text!r} has {shown}",
            {"digits": text, "invalid": invalid},
        )
    return text
