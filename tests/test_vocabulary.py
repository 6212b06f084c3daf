"""One vocabulary: the database's CHECK constraints allow exactly the values of `rcp.vocabulary`.

The constraints are read from the catalog of a database migrated to head (what PostgreSQL
enforces), not from the migration's text, so a later migration that changes one is held too.
"""

from __future__ import annotations

import re
import typing
from enum import StrEnum

import asyncpg
import pytest
from rcp import vocabulary as v
from rcp_admin import schemas

COLUMNS: list[tuple[str, str, type[StrEnum]]] = [
    ("tenants", "status", v.TenantStatus),
    ("admin_tokens", "scope", v.TokenScope),
    ("extensions", "kind", v.ExtensionKind),
    ("ring_groups", "strategy", v.RingStrategy),
    ("ring_groups", "no_answer_action", v.NoAnswerAction),
    ("key_assignments", "action", v.KeyAction),
    ("key_assignments", "target_kind", v.TargetKind),
    ("prompts", "source", v.PromptSource),
    ("prompts", "status", v.PromptStatus),
    ("voicemail_messages", "status", v.VoicemailStatus),
    ("voicemail_messages", "email_status", v.EmailStatus),
    ("call_records", "outcome", v.Outcome),
    ("outbound_policies", "allowed_number_types", v.NumberType),
    ("users", "role", v.UserRole),
    ("users", "language", v.UserLanguage),
    ("user_links", "purpose", v.LinkPurpose),
    ("schedules", "override_mode", v.OverrideMode),
]

# The CHECK constraints on one column alone, as PostgreSQL holds them.
CONSTRAINTS = """
    SELECT pg_get_constraintdef(c.oid) AS definition
      FROM pg_constraint c
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
     WHERE c.contype = 'c' AND c.conrelid = $1::regclass AND a.attname = $2
       AND cardinality(c.conkey) = 1"""


async def allowed_values(db: asyncpg.Connection, table: str, column: str) -> set[str]:
    """The values the column's CHECK constraint lists (`column = ANY (ARRAY['a'::text, ...])`,
    or for an array column `column <@ ARRAY['a'::text, ...]`)."""
    definitions = [r["definition"] for r in await db.fetch(CONSTRAINTS, table, column)]
    lists = [d for d in definitions if "ANY (ARRAY[" in d or "<@ ARRAY[" in d]
    assert len(lists) == 1, definitions
    return set(re.findall(r"'([^']*)'::text", lists[0]))


@pytest.mark.parametrize(("table", "column", "vocabulary"), COLUMNS)
async def test_check_constraint_allows_exactly_the_vocabulary(
    db: asyncpg.Connection, table: str, column: str, vocabulary: type[StrEnum]
) -> None:
    assert await allowed_values(db, table, column) == {member.value for member in vocabulary}


def test_the_admin_api_key_actions_are_the_vocabulary_key_actions() -> None:
    tags = {
        typing.get_args(model.model_fields["action"].annotation)[0]
        for model in typing.get_args(typing.get_args(schemas.KeyAssignment)[0])
    }
    assert tags == {action.value for action in v.KeyAction}


def test_the_admin_api_refuses_a_word_outside_the_vocabulary() -> None:
    with pytest.raises(ValueError, match="'physical' or 'virtual'"):
        schemas.ExtensionCreate.model_validate(
            {"number": "101", "kind": "robot", "last_name": "Dupont"}
        )
    created = schemas.ExtensionCreate.model_validate(
        {
            "number": "101",
            "kind": "virtual",
            "last_name": "Dupont",
            "external_number": "+33612345678",
        }
    )
    assert created.kind is v.ExtensionKind.VIRTUAL
