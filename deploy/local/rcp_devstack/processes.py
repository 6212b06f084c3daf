"""Background processes of the local stack: started detached, tracked by pid files."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class StackError(Exception):
    """A piece of the local stack could not be set up or started; the message says why."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def read_pid(pid_file: Path) -> int | None:
    """The pid in a pid file, if the file exists and the process still runs."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def start_detached(
    command: Sequence[str], pid_file: Path, log_file: Path, env: dict[str, str] | None = None
) -> int:
    """Start a process in its own session, logging to a file; record and return its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    pid_file.write_text(f"{process.pid}\n")
    return process.pid


def stop_pid(pid: int, timeout_s: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after the time-out."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def wait_until(
    check: Callable[[], bool], timeout_s: float, what: str, log_file: Path | None
) -> None:
    """Poll `check` until it is true; raise StackError naming `what` (and the log) otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    tail = ""
    if log_file is not None and log_file.exists():
        lines = log_file.read_text(errors="replace").splitlines()[-15:]
        tail = "\n  " + "\n  ".join(lines)
    raise StackError(f"{what} was not ready within {timeout_s:g} s (log: {log_file}){tail}")


def run(command: Sequence[str], what: str, **kwargs: object) -> str:
    """Run a command to completion; raise StackError with its output if it fails."""
    result = subprocess.run(  # noqa: PLW1510 - the return code is checked below
        list(command),
        capture_output=True,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )
    if result.returncode != 0:
        raise StackError(
            f"{what} failed (exit {result.returncode}): {' '.join(command)}\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return str(result.stdout)


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (for a private server of a test or a benchmark)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
