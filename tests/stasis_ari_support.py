"""Helpers for the ARI adapter's tests on the real Asterisk: phones, and a TCP relay to cut.

The receptionist side is the adapter under test, on an application name of its own. Calls
are Local channels `Local/<number>@test-phones/n` originated into that application: their
far half runs the `test-phones` dialplan and enters the `test-phones` application, which the
test's probe holds and which plays the caller (answers, presses keys, records what it hears,
hangs up). Legs the adapter dials to `Local/<number>@test-phones/n` ring there too.

The relay stands between the adapter and Asterisk so that a test can break the TCP
connections for real (and refuse new ones for a while) without touching the shared Asterisk.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import io
import random
import uuid
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from rcp_devstack.ari_probe import AriProbe, Event, ari_probe
from rcp_devstack.settings import StackSettings
from rcp_stasis.ari import AriCall, AriConnection
from rcp_stasis.ports import AriCallPort, AsteriskEvent

CALLED = "+33199000001"


def unique_app(role: str) -> str:
    return f"rcp-test-{role}-{uuid.uuid4().hex[:8]}"


def unique_number() -> str:
    """A test-phones extension nobody else is dialling now (six digits)."""
    return str(random.randint(100_000, 999_999))


class PhonesTakenOver(AssertionError):
    """Another test run connected the `test-phones` application while this test held it."""


@dataclass
class Phones:
    """The test's probe on the `test-phones` application: it plays callers and called phones."""

    probe: AriProbe
    settings: StackSettings

    async def wait_for(self, match: Callable[[Event], bool], timeout_s: float = 20.0) -> Event:
        """Like the probe's, but fails at once, and clearly, if the application was taken over."""

        def matched_or_replaced(event: Event) -> bool:
            return event.get("type") == "ApplicationReplaced" or match(event)

        event = await self.probe.wait_for(matched_or_replaced, timeout_s)
        if event.get("type") == "ApplicationReplaced":
            raise PhonesTakenOver("another run took over the test-phones app: rerun this test")
        return event

    async def ringing(self, number: str) -> str:
        """The phone channel that rings for `number` (its StasisStart in test-phones)."""
        event = await self.wait_for(
            lambda e: (
                e.get("type") == "StasisStart"
                and e.get("application") == self.settings.test_phones_app
                and e.get("args") == [number]
            )
        )
        return str(event["channel"]["id"])

    async def call(self, app: str, number: str | None = None, *args: str) -> tuple[str, str]:
        """Place a call into `app`; return (the caller's phone channel, the call's channel)."""
        number = number or unique_number()
        call = await self.probe.request(
            "POST",
            "/channels",
            endpoint=f"Local/{number}@test-phones/n",
            app=app,
            appArgs=",".join((CALLED, *args)),
        )
        phone = await self.ringing(number)
        await self.probe.request("POST", f"/channels/{phone}/answer")
        return phone, str(call["id"])

    async def press(self, phone: str, digit: str) -> None:
        await self.probe.request("POST", f"/channels/{phone}/dtmf", dtmf=digit, duration="120")

    async def hang_up(self, channel: str) -> None:
        await self.probe.request("DELETE", f"/channels/{channel}", missing_ok=True)

    async def exists(self, path: str) -> bool:
        return await self.probe.request("GET", path, missing_ok=True) is not None

    async def recorded_loudness(self, name: str) -> float:
        """Root mean square of a stored recording's samples (0 for silence), then delete it."""
        async with self.probe._session.get(
            f"{self.settings.ari_url}/ari/recordings/stored/{name}/file"
        ) as response:
            response.raise_for_status()
            body = await response.read()
        await self.probe.request("DELETE", f"/recordings/stored/{name}", missing_ok=True)
        with wave.open(io.BytesIO(body)) as audio:
            samples = array.array("h", audio.readframes(audio.getnframes()))
        if not samples:
            return 0.0
        return float((sum(s * s for s in samples) / len(samples)) ** 0.5)


@asynccontextmanager
async def phones(settings: StackSettings) -> AsyncIterator[Phones]:
    """Hold the test-phones application for the duration of the block."""
    async with ari_probe(
        settings.ari_url, settings.ari_user, settings.ari_password, [settings.test_phones_app]
    ) as probe:
        yield Phones(probe, settings)


@dataclass
class Receptionist:
    """The adapter under test, with every call it was handed and a way to end them."""

    connection: AriConnection
    calls: asyncio.Queue[AriCallPort] = field(default_factory=asyncio.Queue)
    finish: dict[str, asyncio.Event] = field(default_factory=dict)

    async def next_call(self, timeout_s: float = 20.0) -> AriCallPort:
        async with asyncio.timeout(timeout_s):
            return await self.calls.get()


async def next_event(
    call: AriCallPort, match: Callable[[AsteriskEvent], bool], timeout_s: float = 20.0
) -> AsteriskEvent:
    """The call's first event (from now) that `match` accepts."""
    async with asyncio.timeout(timeout_s):
        async for event in call.events():
            if match(event):
                return event
    raise AssertionError("the call's events ended")


@asynccontextmanager
async def receptionist(
    settings: StackSettings, app: str, *, url: str | None = None, **options: Any
) -> AsyncIterator[Receptionist]:
    """An AriConnection on `app` whose calls wait, held, until the test lets them finish."""
    holder: list[Receptionist] = []

    async def handle(call: AriCallPort) -> None:
        finished = asyncio.Event()
        holder[0].finish[call.channel_id] = finished
        await holder[0].calls.put(call)
        await finished.wait()

    connection = AriConnection(
        url=url or settings.ari_url,
        user=settings.ari_user,
        password=settings.ari_password,
        app=app,
        handle_call=handle,
        **options,
    )
    async with connection:
        holder.append(Receptionist(connection))
        yield holder[0]


async def eventually(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Return once `check()` holds (checked every 50 ms); fail after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while not check():  # noqa: ASYNC110 - the state belongs to another task, no event to await
            await asyncio.sleep(0.05)


def owned_by(call: AriCallPort) -> AriCall:
    assert isinstance(call, AriCall)
    return call


class TcpRelay:
    """Relays 127.0.0.1:<port> to a target; can cut live connections and refuse new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.refusing = False
        self.sent = bytearray()
        """Every byte the clients sent towards the target."""
        self.port = 0

    async def __aenter__(self) -> TcpRelay:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        await self.cut()
        if self._server is not None:
            await self._server.wait_closed()

    async def cut(self) -> None:
        """Break every relayed connection, both ways."""
        for writer in list(self._writers):
            writer.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, upstream_writer))
        first = asyncio.create_task(self._pipe(reader, upstream_writer, record=True))
        second = asyncio.create_task(self._pipe(upstream_reader, writer, record=False))
        self._pipes.update((first, second))
        first.add_done_callback(self._pipes.discard)
        second.add_done_callback(self._pipes.discard)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, record: bool
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if record:
                    self.sent.extend(chunk)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
