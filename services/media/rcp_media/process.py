"""Running the command-line tools (espeak-ng, ffmpeg, ffprobe, sox) without blocking the loop."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from dataclasses import dataclass

from rcp_media.errors import RenderFailed


@dataclass(frozen=True)
class Completed:
    """What a finished command returned."""

    returncode: int
    stdout: bytes
    stderr: str


def require_tool(name: str) -> str:
    """The full path of a command, or a clear error naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed (Debian: apt-get install {name})")
    return path


async def run(args: list[str], *, timeout_s: float, stdin: bytes | None = None) -> Completed:
    """Run a command to its end; kill it if it outlives `timeout_s` or the caller is cancelled."""
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout_s):
            stdout, stderr = await process.communicate(stdin)
    except TimeoutError as error:
        raise RenderFailed(
            f"{args[0]} took longer than {timeout_s:g} s", tool=args[0].rsplit("/", 1)[-1]
        ) from error
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    returncode = process.returncode if process.returncode is not None else -1
    return Completed(returncode, stdout, stderr.decode(errors="replace"))
