"""Admin tokens are random, shown once, and stored only as a keyed hash."""

from __future__ import annotations

from rcp.tokens import hash_token, issue_token

PEPPER = "a-pepper-of-sixteen+"


def test_issued_token_hash_matches_only_with_the_same_pepper() -> None:
    issued = issue_token(PEPPER)
    assert hash_token(issued.token, PEPPER) == issued.digest
    assert hash_token(issued.token, PEPPER + "x") != issued.digest
    assert len(issued.digest) == 32


def test_token_shows_its_prefix_and_each_token_differs() -> None:
    first, second = issue_token(PEPPER), issue_token(PEPPER)
    assert first.token.startswith(f"rcp_{first.prefix}_")
    assert first.token != second.token
    assert first.digest != second.digest
