"""A real SIP phone for tests: baresip (Debian's baresip-core) inside the Asterisk root.

The phone runs with `chroot` in the root Asterisk runs in (it shares the host's network), from
a folder of its own under the root's /tmp: a config (SIP on the given loopback address and a
free port; G.711 u-law; audio from a silent file, so that it never hangs up by itself first),
and an account whose From user is chosen by the test (`carrier`, as a forger would say). The
test writes baresip's commands to its standard input (`/dial sip:...`, a bare digit sends it
as RFC 4733 DTMF, `/hangup`, `/quit`) and reads what it prints.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import re
import shutil
import socket
import uuid
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rcp_devstack.settings import StackSettings

SILENCE_S = 60


def free_sip_port(address: str, attempts: int = 100) -> int:
    """A port free on `address` now for both UDP and TCP, and the next one too: baresip
    listens on its SIP port with both (TLS on the next), and a port the system hands out for
    UDP is often the local port of some TCP connection on loopback (the tests' own to NATS,
    PostgreSQL, ARI), which baresip then cannot listen on ("address already in use")."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
            port = int(probe.getsockname()[1])
        if port < 65535 and all(
            _bindable(address, candidate, kind)
            for candidate in (port, port + 1)
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM)
        ):
            return port
    raise AssertionError(f"no port free for SIP over UDP and TCP on {address} in {attempts} tries")


def _bindable(address: str, port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
        return True


@dataclass
class SipPhone:
    """A running baresip: what it printed so far, and its standard input."""

    process: asyncio.subprocess.Process
    settings: StackSettings
    address: str
    port: int
    folder: Path
    lines: list[str] = field(default_factory=list)
    _more: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, command: str) -> None:
        """Type one line into baresip."""
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()

    async def dial(self, number: str) -> None:
        """Call `number` at the stack's Asterisk, as the carrier's trunk would."""
        await self.send(f"/dial sip:{number}@127.0.0.1:{self.settings.asterisk_sip_port}")

    async def press(self, digit: str) -> None:
        """Press a key: baresip sends it as RFC 4733 telephone-event."""
        await self.send(digit)

    def heard(self) -> tuple[int, array.array[int]]:
        """What the phone heard so far (its speaker, written by baresip's aufile player): the
        sample rate, and the 16-bit samples."""
        path = self.folder / "out.wav"
        with wave.open(str(path), "rb") as audio:
            rate, frames = audio.getframerate(), audio.getnframes()
            data = audio.readframes(frames)
        if not data:  # the header is completed when the player stops: read what is there
            data = path.read_bytes()[44:]
        return rate, array.array("h", data[: len(data) // 2 * 2])

    async def printed(self, pattern: str, timeout_s: float = 30.0) -> str:
        """The first line printed (so far or to come) that matches `pattern`."""
        regex = re.compile(pattern)
        async with asyncio.timeout(timeout_s):
            while True:
                for line in self.lines:
                    if regex.search(line):
                        return line
                self._more.clear()
                await self._more.wait()

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            # baresip echoes what is typed with backspaces and carriage returns: keep the text.
            for line in raw.decode(errors="replace").replace("\r", "\n").split("\n"):
                if line.strip():
                    self.lines.append(line.strip())
            self._more.set()
        self._more.set()


def _silence(path: Path, seconds: int) -> None:
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 8000 * seconds)


@asynccontextmanager
async def sip_phone(
    settings: StackSettings, address: str, user: str = "carrier"
) -> AsyncIterator[SipPhone]:
    """baresip on `address` (a loopback address), calling as `sip:<user>@<address>`."""
    root = settings.asterisk_dir
    if not (root / "usr" / "bin" / "baresip").exists():
        raise AssertionError(f"baresip is not installed in {root}: run ./rcp infra")
    name = f"rcp-sip-{uuid.uuid4().hex[:10]}"
    folder, inside = root / "tmp" / name, f"/tmp/{name}"  # noqa: S108 - the root's own /tmp
    folder.mkdir(parents=True)
    port = free_sip_port(address)
    _silence(folder / "in.wav", SILENCE_S)
    (folder / "config").write_text(
        f"sip_listen {address}:{port}\n"
        "module_path /usr/lib/baresip/modules\n"
        "module stdio.so\nmodule g711.so\nmodule aufile.so\n"
        "module_app account.so\nmodule_app menu.so\n"
        f"audio_source aufile,{inside}/in.wav\n"
        f"audio_player aufile,{inside}/out.wav\n"
    )
    (folder / "accounts").write_text(f"<sip:{user}@{address}:{port}>;regint=0;audio_codecs=PCMU\n")
    process = await asyncio.create_subprocess_exec(
        "chroot",
        str(root),
        "baresip",
        "-f",
        inside,
        "-t",
        str(SILENCE_S + 30),  # quits by itself, whatever happens to the test
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    phone = SipPhone(process, settings, address, port, folder)
    reader = asyncio.create_task(phone.read())
    try:
        await phone.printed("baresip is ready", timeout_s=30)
        yield phone
    finally:
        with contextlib.suppress(Exception):
            await phone.send("/quit")
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        shutil.rmtree(folder, ignore_errors=True)
