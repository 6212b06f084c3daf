"""A garbage collector that parses Python source at every collection.

That is what a finalizer formatting a traceback does (Python 3.11's tracebacks parse each line
to place their carets), and what broke pytest's failure reports on Python 3.11 before 3.11.8.
"""

from __future__ import annotations

import ast
import gc
from collections.abc import Iterator

import pytest


@pytest.fixture
def collector_that_parses() -> Iterator[None]:
    """Collect often, and parse source at the start of every collection."""

    def parse_on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            ast.parse("greeting = 'bonjour'\n" * 20)

    threshold = gc.get_threshold()
    gc.set_threshold(10)
    gc.callbacks.append(parse_on_collection)
    yield
    gc.callbacks.remove(parse_on_collection)
    gc.set_threshold(*threshold)
