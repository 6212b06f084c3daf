"""A small raw ARI client for the local stack's demo call and for tests that play phones.

It is deliberately not the stasis service's ARI adapter: it is a probe that subscribes to
named applications, records every event in order, and lets a caller wait for a matching one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import aiohttp
from rcp import tasks

Event = dict[str, Any]


class AriProbe:
    """One ARI WebSocket for some applications, plus REST calls with the same credentials."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/") + "/ari"
        self.events: list[Event] = []
        self._changed = asyncio.Condition()

    async def _pump(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for message in socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            async with self._changed:
                self.events.append(json.loads(message.data))
                self._changed.notify_all()

    def mark(self) -> int:
        """Where the event history is now: `wait_for(since=...)` then looks only after it."""
        return len(self.events)

    async def wait_for(
        self, match: Callable[[Event], bool], timeout_s: float = 15.0, since: int = 0
    ) -> Event:
        """The first event received (already or later, after `since`) that `match` accepts."""

        found: list[Event] = []
        position = since

        def seen() -> bool:
            nonlocal position
            while not found and position < len(self.events):
                if match(self.events[position]):
                    found.append(self.events[position])
                position += 1
            return bool(found)

        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(seen)
        return found[0]

    async def wait_for_all(
        self, match: Callable[[Event], bool], count: int, timeout_s: float = 15.0
    ) -> list[Event]:
        """The first `count` events (already received or later) that `match` accepts."""
        found: list[Event] = []

        def enough() -> bool:
            found[:] = [event for event in self.events if match(event)][:count]
            return len(found) == count

        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(enough)
        return found

    async def request(
        self, method: str, path: str, *, missing_ok: bool = False, **params: str
    ) -> Any:
        """A REST call; returns the decoded JSON body (None for 204, or 404 if missing_ok)."""
        async with self._session.request(method, f"{self._base}{path}", params=params) as response:
            if missing_ok and response.status == HTTPStatus.NOT_FOUND:
                return None
            if response.status >= HTTPStatus.BAD_REQUEST:
                body = await response.text()
                raise RuntimeError(f"ARI {method} {path} -> HTTP {response.status}: {body}")
            if response.status == HTTPStatus.NO_CONTENT:
                return None
            return await response.json()

    async def stop_recording(self, name: str, since: int = 0) -> bytes:
        """Stop a live recording (begun after `since`) and return its file, deleted from
        Asterisk; empty if Asterisk kept none."""
        await self.request("POST", f"/recordings/live/{name}/stop", missing_ok=True)
        await self.wait_for(  # the file is complete once Asterisk says so
            lambda e: (
                e.get("type") in ("RecordingFinished", "RecordingFailed")
                and e["recording"]["name"] == name
            ),
            10,
            since,
        )
        body = b""
        for _ in range(30):  # the stored file may take a moment to appear under its name
            async with self._session.get(f"{self._base}/recordings/stored/{name}/file") as got:
                if got.status == HTTPStatus.OK:
                    body = await got.read()
                    break
            await asyncio.sleep(0.1)
        await self.request("DELETE", f"/recordings/stored/{name}", missing_ok=True)
        return body


@asynccontextmanager
async def ari_probe(
    base_url: str, user: str, password: str, apps: list[str]
) -> AsyncIterator[AriProbe]:
    """Connect a probe subscribed to `apps`; disconnect on exit."""
    headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        ws_url = base_url.replace("http", "ws", 1).rstrip("/") + "/ari/events"
        socket = await session.ws_connect(
            ws_url, params={"app": ",".join(apps), "subscribeAll": "false"}, heartbeat=20
        )
        probe = AriProbe(session, base_url)
        pump = asyncio.create_task(probe._pump(socket))
        try:
            yield probe
        finally:
            await socket.close()
            await tasks.stop(pump)
