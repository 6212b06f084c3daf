"""A test that fails on purpose while the garbage collector parses Python source.

Not part of the suite: tests/conftest.py leaves `samples/` out unless RCP_FAILURE_SAMPLE=1.
`tests/test_failure_reports.py` runs it in a pytest of its own, with the project's
configuration, to prove that a failure is reported readably on the interpreter in use.
"""

from __future__ import annotations

import pytest
from parser_support import collector_that_parses  # noqa: F401 - a fixture, used by name


@pytest.mark.usefixtures("collector_that_parses")
def test_sample_failure_while_the_collector_parses() -> None:
    heard = {"language": "fr-FR", "seconds_of_speech": 3.1}
    assert heard == {"language": "fr-FR", "seconds_of_speech": 4.5}
