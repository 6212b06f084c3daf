"""A failing test is reported readably on the interpreter in use, Debian bookworm's included."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from parser_support import collector_that_parses  # noqa: F401 - a fixture, used by name
from rcp.interpreter import AFFECTED, guard_ast_parse

REPO = Path(__file__).resolve().parent.parent
SAMPLE = "tests/samples/test_failure_sample.py"


def test_a_failing_test_is_reported_with_its_values_and_no_internal_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", SAMPLE],
        cwd=REPO,
        env={**os.environ, "RCP_FAILURE_SAMPLE": "1", "RCP_FORBID_SKIPS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = result.stdout + result.stderr
    assert "INTERNALERROR" not in report, report
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, report
    assert f"FAILED {SAMPLE}::test_sample_failure_while_the_collector_parses" in report
    # pytest's own comparison of the two dicts, as a reader needs it
    assert "'seconds_of_speech': 3.1" in report
    assert "'seconds_of_speech': 4.5" in report


@pytest.mark.usefixtures("collector_that_parses")
def test_the_guarded_parser_survives_a_collection_that_parses_again() -> None:
    source = (REPO / "libs" / "rcp" / "interpreter.py").read_text()
    for _ in range(5):
        assert isinstance(ast.parse(source), ast.Module)


@pytest.mark.usefixtures("collector_that_parses")
def test_the_guard_is_on_exactly_where_the_interpreter_has_the_defect() -> None:
    assert guard_ast_parse() is AFFECTED
    original = getattr(ast.parse, "__wrapped__", None)
    if AFFECTED:
        # The defect is real here: the unguarded parser fails the way pytest did.
        assert original is not None
        source = (REPO / "libs" / "rcp" / "interpreter.py").read_text()
        with pytest.raises(SystemError, match="recursion depth mismatch"):
            original(source)
    else:
        assert original is None
