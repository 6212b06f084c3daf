"""The admin API's published description does not change unless someone means it to.

`fixtures/openapi.json` and `fixtures/admin-docs.html` are the OpenAPI document and the docs
page as the admin service serves them. A restructuring of the service must leave both
identical to the byte; a deliberate change of the API rewrites them with
`.venv/bin/python tests/test_admin_openapi.py` and shows up in review as a diff of the API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rcp_admin.openapi import docs_page, openapi_document

FIXTURES = Path(__file__).parent / "fixtures"
DOCUMENT = FIXTURES / "openapi.json"
PAGE = FIXTURES / "admin-docs.html"
REWRITE = "if the API change is meant, rewrite it: .venv/bin/python tests/test_admin_openapi.py"


def rendered(document: dict[str, Any]) -> str:
    """The document as committed: key order kept, so a reordering shows as a change too."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_openapi_document_is_byte_identical_to_the_committed_one() -> None:
    assert rendered(openapi_document()) == DOCUMENT.read_text("utf-8"), REWRITE


def test_docs_page_is_byte_identical_to_the_committed_one() -> None:
    assert docs_page() == PAGE.read_text("utf-8"), REWRITE


def test_committed_document_lists_every_operation_of_the_api() -> None:
    committed = json.loads(DOCUMENT.read_text("utf-8"))
    operations = [
        (method.upper(), path) for path, item in committed["paths"].items() for method in item
    ]
    assert len(operations) == len(set(operations)) == 123


if __name__ == "__main__":
    DOCUMENT.write_text(rendered(openapi_document()), "utf-8")
    PAGE.write_text(docs_page(), "utf-8")
