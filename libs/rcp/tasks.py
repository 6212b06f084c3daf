"""Stopping background tasks for sure.

On Python 3.11, `asyncio.wait_for` swallows a cancellation that lands in the same loop
iteration as the awaited future completes (python/cpython#86296; the 3.12 rewrite fixed
it). nats-py awaits through `wait_for` on every request and fetch, so a loop around such
calls that is cancelled once can go on running and its owner wait for it for ever. `stop`
cancels again until the task has ended, within a bound.

A task that cleans up when cancelled (a call hanging up its channels) needs the time to do
it undisturbed: `recancel_after_s` gives it that before the next cancellation.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

log = structlog.get_logger(__name__)

RECANCEL_AFTER_S = 0.5
"""How long a cancelled task has to end before it is cancelled again, by default."""


async def stop(
    task: asyncio.Task[Any],
    *,
    patience_s: float = 10.0,
    recancel_after_s: float = RECANCEL_AFTER_S,
) -> bool:
    """Cancel `task` and wait until it has ended, cancelling again each `recancel_after_s`
    while it goes on.

    Returns whether it ended within `patience_s`; if not, it is logged and left behind.
    An exception the task raised is logged, not raised: its owner is shutting it down. A
    cancellation of the caller itself propagates as usual.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience_s
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.error("task.would_not_stop", task=task.get_name(), patience_s=patience_s)
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(recancel_after_s, remaining))
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("task.failed", task=task.get_name(), error=repr(error))
    return True
