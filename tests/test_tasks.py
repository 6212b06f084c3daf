"""Stopping a background task even when a cancellation gets lost on the way.

On Python 3.11 `asyncio.wait_for` (which nats-py awaits through) can swallow a cancellation
that lands as the awaited future completes; a loop around it then runs on. The race cannot
be produced on demand, so these tasks lose their first cancellations on purpose.
"""

from __future__ import annotations

import asyncio

import structlog
from rcp import tasks


async def _loses_cancellations(count: list[int], ended: list[str]) -> None:
    """A loop that goes on after its first `count[0]` cancellations, as one whose cancel was
    swallowed by wait_for does."""
    lost = 0
    try:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if lost >= count[0]:
                    raise
                lost += 1
    finally:
        ended.append(f"ended after losing {lost}")


async def test_a_task_that_lost_cancellations_is_cancelled_again_until_it_ends() -> None:
    ended: list[str] = []
    task = asyncio.create_task(_loses_cancellations([3], ended))
    await asyncio.sleep(0)
    assert await tasks.stop(task, patience_s=30) is True
    assert task.cancelled()
    assert ended == ["ended after losing 3"]


async def test_a_task_that_never_ends_is_given_up_after_the_patience_and_logged() -> None:
    ended: list[str] = []
    count = [1_000_000]
    task = asyncio.create_task(_loses_cancellations(count, ended))
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with structlog.testing.capture_logs() as logs:
        assert await tasks.stop(task, patience_s=1.2) is False
    assert 1.2 <= loop.time() - started < 30  # bounded: the owner's shutdown goes on
    assert not task.done()
    assert [entry["event"] for entry in logs] == ["task.would_not_stop"]
    count[0] = 0  # now it gives in
    assert await tasks.stop(task, patience_s=5) is True


async def test_a_task_that_failed_is_logged_not_raised_to_its_owner() -> None:
    async def fails() -> None:
        raise RuntimeError("broken")

    task = asyncio.create_task(fails(), name="fails")
    await asyncio.sleep(0)
    with structlog.testing.capture_logs() as logs:
        assert await tasks.stop(task) is True
    assert [(e["event"], e["task"], e["error"]) for e in logs] == [
        ("task.failed", "fails", "RuntimeError('broken')")
    ]


async def test_stopping_a_finished_task_returns_at_once() -> None:
    async def quick() -> int:
        return 1

    task = asyncio.create_task(quick())
    await task
    assert await tasks.stop(task, patience_s=0) is True


async def test_a_task_cleaning_up_is_left_to_finish_within_its_recancel_time() -> None:
    # A call's task hangs up its channels when cancelled: that must not be cut short.
    steps: list[str] = []

    async def releases_when_cancelled() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            for step in ("hang up the phone", "hang up the caller", "destroy the bridge"):
                await asyncio.sleep(0.4)
                steps.append(step)

    task = asyncio.create_task(releases_when_cancelled())
    await asyncio.sleep(0)
    assert await tasks.stop(task, recancel_after_s=10, patience_s=30) is True
    assert steps == ["hang up the phone", "hang up the caller", "destroy the bridge"]
