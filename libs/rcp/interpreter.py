"""Work-arounds for defects of the Python interpreters we support.

CPython 3.11 before 3.11.8 (Debian bookworm ships 3.11.2) keeps the AST constructor's recursion
depth in one counter per interpreter. When a garbage collection started during `ast.parse`
runs Python code that parses again (a finalizer or a `gc.callbacks` hook that formats a
traceback: 3.11's tracebacks parse each line to place their carets), the outer parse ends
with `SystemError: AST constructor recursion depth mismatch` (CPython issue 106905). pytest
parses sources to report a failure, so a failing test could end the whole run in an
INTERNALERROR, and a service formatting an exception could raise instead of logging it.

The guard runs every `ast.parse` with the collector paused and one parse at a time, so no
Python code can run inside the C constructor. Later interpreters are left as they are.
"""

from __future__ import annotations

import ast
import gc
import sys
import threading
from typing import Any

AFFECTED = (3, 11) <= sys.version_info[:3] < (3, 11, 8)

_guard_lock = threading.RLock()


def _guarded(parse: Any) -> Any:
    def parse_with_collector_paused(*args: Any, **kwargs: Any) -> Any:
        with _guard_lock:
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                return parse(*args, **kwargs)
            finally:
                if was_enabled:
                    gc.enable()

    parse_with_collector_paused.__wrapped__ = parse  # type: ignore[attr-defined]
    parse_with_collector_paused.__doc__ = parse.__doc__
    return parse_with_collector_paused


def guard_ast_parse(*, affected: bool = AFFECTED) -> bool:
    """Guard `ast.parse` on interpreters with the re-entry defect; say whether it is guarded."""
    if not affected:
        return False
    if not hasattr(ast.parse, "__wrapped__"):
        ast.parse = _guarded(ast.parse)
    return True
