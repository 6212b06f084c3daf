"""Running the command-line tools (espeak-ng, ffmpeg, ffprobe) without blocking the loop."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from rcp_media.errors import RenderFailed


@dataclass(frozen=True)
class Completed:
    """What a finished command returned."""

    returncode: int
    stdout: bytes
    stderr: str


@dataclass(frozen=True)
class Spawned:
    """A running command with its three pipes; its stderr is read as it comes (never blocks it)."""

    args: list[str]
    process: asyncio.subprocess.Process
    stdin: asyncio.StreamWriter
    stdout: asyncio.StreamReader
    _stderr: asyncio.Future[bytes]

    @property
    def tool(self) -> str:
        """The command's name, without its folder."""
        return Path(self.args[0]).name

    async def write(self, data: bytes) -> bool:
        """Give `data` to the command, waiting while its pipe is full; False if it stopped
        reading (it exited or closed its input)."""
        try:
            self.stdin.write(data)
            await self.stdin.drain()
        except ConnectionError:  # BrokenPipeError, ConnectionResetError
            return False
        return True

    async def close_stdin(self) -> None:
        """End the command's input."""
        self.stdin.close()
        with contextlib.suppress(ConnectionError):
            await self.stdin.wait_closed()

    async def wait(self, stdout: bytes = b"") -> Completed:
        """Wait for the command to exit; `stdout` is what the caller read of it, if anything."""
        returncode = await self.process.wait()
        stderr = await self._stderr
        return Completed(returncode, stdout, stderr.decode(errors="replace"))


def require_tool(name: str) -> str:
    """The full path of a command, or a clear error naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed (Debian: apt-get install {name})")
    return path


@contextlib.asynccontextmanager
async def spawned(args: list[str]) -> AsyncIterator[Spawned]:
    """Start a command with all three pipes; on leaving, however (error, cancel), it is killed
    if still running and reaped."""
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdin, stdout, stderr_pipe = process.stdin, process.stdout, process.stderr
    if stdin is None or stdout is None or stderr_pipe is None:  # asked for above: never
        raise RuntimeError(f"{args[0]} started without its pipes")
    stderr = asyncio.ensure_future(stderr_pipe.read())
    try:
        yield Spawned(args, process, stdin, stdout, stderr)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        stdin.close()
        await process.wait()
        stderr.cancel()  # nothing to do once read to its end


async def run(args: list[str], *, timeout_s: float, stdin: bytes = b"") -> Completed:
    """Run a command to its end with `stdin` as its input; kill it if it outlives `timeout_s`
    or the caller is cancelled."""
    try:
        async with asyncio.timeout(timeout_s), spawned(args) as command:

            async def feed() -> None:
                if stdin:
                    await command.write(stdin)
                await command.close_stdin()

            stdout, _ = await asyncio.gather(command.stdout.read(), feed())
            return await command.wait(stdout)
    except TimeoutError as error:
        raise RenderFailed(
            f"{args[0]} took longer than {timeout_s:g} s", tool=Path(args[0]).name
        ) from error
