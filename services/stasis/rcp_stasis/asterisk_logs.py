"""Asterisk's log files, rotated every day by the stasis service beside it.

Asterisk rotates a log file only when told to (`logger rotate`, or ARI's
`PUT /asterisk/logging/{channel}/rotate`); its logger.conf (deploy/asterisk) then renames
`messages` to `messages.0`, shifts the older ones and deletes the eighth, so that a week is
kept. One stasis service runs beside each Asterisk (its pod on Kubernetes, the local stack's
process), which makes it the one to tell its Asterisk, once a day.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

import aiohttp
import structlog

from rcp_stasis.ari import AriError

log = structlog.get_logger(__name__)

# The file channels of deploy/asterisk/logger.conf (the console is the container's output).
LOG_CHANNELS = ("messages", "security")


async def rotate(session: aiohttp.ClientSession, ari_url: str) -> None:
    """Have Asterisk rotate its log files now."""
    for channel in LOG_CHANNELS:
        url = f"{ari_url.rstrip('/')}/ari/asterisk/logging/{channel}/rotate"
        async with session.put(url) as response:
            if response.status >= HTTPStatus.BAD_REQUEST:
                raise AriError(response.status, f"ARI rotate {channel}: {response.status}")


async def rotate_every(session: aiohttp.ClientSession, ari_url: str, interval_s: float) -> None:
    """Rotate Asterisk's log files every `interval_s` seconds, for ever; a failure is logged
    and the next round tries again."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await rotate(session, ari_url)
        except (AriError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("asterisk.log_rotation_failed", error=repr(error))
        else:
            log.info("asterisk.logs_rotated", channels=list(LOG_CHANNELS))
