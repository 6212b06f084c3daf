"""The search's cursor: where the next page starts, as an opaque string callers hand back.

It holds the rank of the page's last match (kind, last name, first name, number, as they
sort), not an offset, so that the next page stays right when the index is rebuilt in
between: URL-safe base64 of `json.dumps(position)`, as every earlier version wrote it (a
caller may carry a cursor from one instance to another).
"""

from __future__ import annotations

import base64
import binascii
import json
from json.encoder import encode_basestring_ascii as _json_string

from rcp_directory.errors import InvalidCursor

Position = tuple[int, str, str, str]
"""Where a match ranks: its kind, then last name, first name and number as sorted."""

_URL_SAFE = bytes.maketrans(b"+/", b"-_")
_KINDS = (0, 1)  # `index.Kind`: a whole name, a part


def _base64(text: str) -> bytes:
    return binascii.b2a_base64(text.encode(), newline=False).translate(_URL_SAFE)


def encode_cursor(position: Position) -> str:
    """The cursor of a position, written from its parts (a third of `json.dumps`' cost); an
    index has its entries' already (`cursor_tail`)."""
    kind, last, first, number = position
    return _base64(
        f"[{int(kind)}, {_json_string(last)}, {_json_string(first)}, {_json_string(number)}]"
    ).decode()


def decode_cursor(cursor: str) -> Position:
    """The position a cursor of `encode_cursor` holds; `InvalidCursor` for anything else."""
    try:
        kind, last, first, number = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as error:
        raise InvalidCursor from error
    if not (
        isinstance(kind, int)
        and kind in _KINDS
        and all(isinstance(text, str) for text in (last, first, number))
    ):
        raise InvalidCursor
    return (kind, last, first, number)


# An index encodes each entry's cursor when it is built, but for its kind: the text starts
# with the kind's three bytes ("[0,"), and base64 turns each three bytes into four
# characters on their own, so a cursor is its kind's four characters, then its entry's.
CURSOR_HEADS = tuple(_base64(f"[{kind},") for kind in _KINDS)


def cursor_tail(last: str, first: str, number: str) -> bytes:
    """The part of the cursor of (kind, `last`, `first`, `number`) after its kind's
    (`CURSOR_HEADS`): `CURSOR_HEADS[kind] + cursor_tail(...)` is `encode_cursor`'s."""
    return _base64(f" {_json_string(last)}, {_json_string(first)}, {_json_string(number)}]")
